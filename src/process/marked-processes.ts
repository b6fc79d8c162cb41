import { inSpawnHost } from './host-pass.js'
import { type MarkerSignal, type MarkerSignaller, MarkerSweeps } from './marker-sweeps.js'
import type { PidWindow } from './pid-window.js'
import { procScan } from './proc-scan.js'
import { markerVariable } from './process-marker.js'

/**
 * Some programs (codex app-server) start helpers in sessions of their own (its shell snapshot, the commands it
 * runs), and a command may start a daemon (`setsid cmd >/dev/null 2>&1 &`), so when the program ended (or died)
 * they are reparented to init and a process-group kill misses them. Each program gets a unique value in a
 * variable its descendants inherit; after it ended, the processes still carrying that value are its leftovers and
 * are ended. Linux only (/proc); best effort (a command run with a scrubbed environment is not found). The
 * variable: process-marker.ts.
 *
 * Where the scan runs: reading every process's environment costs 3-4 ms with ~100 processes (more under load),
 * synchronous, and 500 fast runs may end at once. So the sweeps are batched (marker-sweeps.ts: one pass per
 * 100 ms at most, for every marker due) and a pass runs in the spawn host (spawn-host.ts), a process of its own
 * that already scans /proc for the gateway's marker when the gateway dies: this thread sends one IPC message per
 * pass. The alternatives (docs/benchmarks.md, session 25, "leftover sweeps off the event loop"): a worker thread
 * would add an isolate to this process; fs.promises reads on this thread cost it about 2x the synchronous scan's
 * CPU (a promise and a thread-pool round trip per file), in slices. Without a host (it could not start, or died young: spawns are then paced on
 * this thread too) the pass scans here, synchronously, still batched.
 */

/**
 * One pass in this process: each process carrying a marker of `signals` gets its signal; the markers found. The
 * pass is the spawn host's own (proc-scan-source.ts `signalMarked`), evaluated here (proc-scan.ts).
 */
export function signalMarkedHere(
  signals: Readonly<Record<string, MarkerSignal>>,
  since = 0,
  windows?: readonly PidWindow[],
): string[] {
  return [...procScan().signalMarked(markerVariable, new Map(Object.entries(signals)), [], since, windows)]
}

/**
 * How many processes in the pass's pid windows a pass reads here rather than in the spawn host: a few environment
 * reads (tens of µs each) cost this thread less than the host's round trip costs the run's end (two processes to be
 * woken, the host's slices: several ms on a loaded machine; docs/benchmarks.md, "Issue 14, session 45").
 */
export const hereAtMost = 16

/**
 * A pass whose markers' pid windows are known (pid-window.ts) lists /proc here first (one readdir, no file read per
 * process): with no live process given its pid since their leaders' (a program that left nothing: the common case,
 * `codex --version`, a run whose helpers all ended with it) nothing can carry their markers, and there is no pass to
 * make; with up to `hereAtMost` it is made here, on those only. Else, or without windows, in the spawn host when it
 * runs; here when there is none, or it died or did not answer in time (host-pass.ts).
 */
export const signalMarked: MarkerSignaller = (signals, since, windows) => {
  if (windows) {
    const scan = procScan()
    const pids = scan.windowPids(windows, [])
    if (pids !== undefined && pids.length <= hereAtMost)
      return Promise.resolve(
        pids.length === 0
          ? []
          : [...scan.signalMarkedAmong(markerVariable, new Map(Object.entries(signals)), pids)],
      )
  }
  return inSpawnHost(
    (host) => host.signalMarked(signals, since, windows),
    () => signalMarkedHere(signals, since, windows),
  )
}

const sweeps = new MarkerSweeps(signalMarked)

/**
 * Ends every process left with `marker`: SIGTERM at the next pass (shell scripts run their exit traps and release
 * their locks), SIGKILL after `graceMs` for what is still there (including children forked meanwhile). Resolves
 * once a pass found none left (marker-sweeps.ts): a program's end waits for it (local-runner.ts, spawn-group.ts),
 * so a leftover started late (codex's shell snapshot, a session of its own) is gone when its run's end is told.
 * `since`: the start time of the program given the marker (/proc/<pid>/stat, clock ticks; absent: not known):
 * what carries the marker started then or later, so a pass skips older processes unread. `window`: that program's
 * pid and the counters read before its fork (pid-window.ts): a pass looks only at pids given out since.
 */
export function endMarked(
  marker: string,
  graceMs: number,
  since?: number,
  window?: PidWindow,
): Promise<void> {
  return sweeps.end(marker, graceMs, since, window)
}

/**
 * The markers whose sweep is not over (a pass of it to come or under way). Their timers keep the process alive
 * (a run's end waits for its sweep, and a graceful stop must store it), but a gateway that exits meanwhile (a
 * crash, process.exit) would leave them: the exit sweep (exit-sweep.ts) ends these too.
 */
export function pendingMarkers(): readonly string[] {
  return sweeps.markers()
}
