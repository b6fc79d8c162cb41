import { hostPassTimeoutMs, inSpawnHost } from './host-pass.js'
import { procScan } from './proc-scan.js'

/**
 * A long-lived agent process (codex app-server, a warm ACP agent) outlives the runs and turns it serves, so
 * the sweep of its marked leftovers (marked-processes.ts) comes only once it ended. A command it ran that left
 * its process tree (a double fork into a session of its own, a sandbox wrapper whose outer half was killed
 * while the inner one ran on) is reparented to init (or a subreaper) and would live on until then. Such a
 * process is "escaped": it carries the agent process's marker, but its parent chain does not reach the agent
 * process. The agent's own descendants (codex's background terminals, which persist between a session's
 * turns; MCP servers) are never touched.
 *
 * Attribution (one agent process serves several runs and sessions at once), when a turn ended:
 * - by owner: an agent that passes a value of the gateway's to the commands of one thread (codex: its thread's
 *   `shell_environment_policy.set`, `ownerVariable` in process-marker.ts) has each escaped process name its thread. It is the
 *   ended turn's when it names that turn's thread (wherever it works), never when it names another. The caller
 *   sweeps only while no turn of that thread runs (a session's turns run one at a time).
 * - by directory, for a process that names no owner (ACP agents; a command that dropped the value): it is the
 *   ended turn's when it works (its /proc cwd) inside that turn's cwd, and no turn still running on the same
 *   agent process works in that directory, above it, or in a directory containing the process's cwd. Limits:
 *   a command that changed its directory elsewhere is not found (it is ended with the agent process, or at the
 *   next start after a crash: server-marker.ts); one that moved into another idle run's directory is taken for
 *   that one's when a turn there ends.
 * A command that scrubbed its whole environment is not found. Linux only (/proc). The scan itself
 * (`escapedProcesses`) is written once, in proc-scan-source.ts: the spawn host runs it, and so does this thread
 * (proc-scan.ts) when there is no host.
 */

/** The ended turn: where it worked, its owner value if its agent passes one, where live turns work. */
export interface EscapeScope {
  within: readonly string[]
  except: readonly string[]
  owner?: string
}

/**
 * One scan on this thread (when there is no spawn host, or it did not answer): each process that escaped `root` and
 * belongs to `scope` (its directories resolved here) gets `signal`. Returns how many were signalled.
 */
export function signalEscapedHere(
  root: number,
  marker: string,
  scope: EscapeScope,
  signal: EscapeSignal,
): number {
  return procScan().signalEscaped(root, marker, scope, signal, [])
}

/** What a pass sends: a signal, or 0 (a look: are they still there?). */
export type EscapeSignal = NodeJS.Signals | 0

/** The first wait before a look after SIGTERM or SIGKILL; each look after it waits twice as long. */
const firstLookMs = 20

/** How long SIGKILL passes go on finding some (a process stuck in the kernel) before the sweep is let go. */
const minKillWaitMs = 1000

/**
 * Ends the processes that escaped `root` and belong to the scope `scopeNow()` gives (asked again at each pass,
 * so a run started meanwhile in the same directory is respected; undefined: nothing to do): SIGTERM, then looks
 * (signal 0, every 20 ms at first, then less often) until none is found or `graceMs` is over, then SIGKILL for
 * what is still there (children forked meanwhile included) and looks until none is found, for at most
 * max(graceMs, 1 s). Resolves once a pass found none in scope, or the sweep was let go.
 *
 * The end of the run or turn it is for waits for it (relayed-turn.ts, turn-directories.ts): a command's daemon
 * (`setsid cmd &`) or a login profile's background job is gone when that end is told, as a one-shot program's
 * leftovers are (marked-processes.ts). A turn that ran no command does not ask for it (no /proc scan on a plain
 * warm turn's path). Its timers keep the process alive (bounded; the end waits for them).
 *
 * Where the scan runs: in the spawn host (spawn-host-source.ts, proc-scan-source.ts) as the marker sweeps' passes
 * do (marked-processes.ts: why), so no /proc scan runs on this thread: a pass sends the scope computed here at that
 * moment, the host resolves its directories, scans and signals (never itself nor this process). Without a host, or
 * if it does not answer within `hostTimeoutMs` (10 s, host-pass.ts), the scan runs here, synchronously, with the
 * scope asked again.
 */
export function endEscaped(
  root: number,
  marker: string,
  scopeNow: () => EscapeScope | undefined,
  graceMs: number,
  hostTimeoutMs = hostPassTimeoutMs,
): Promise<void> {
  // the scope is asked where the pass runs, just before it (again here if the host did not answer: it may have
  // changed meanwhile)
  const signalAll = (signal: EscapeSignal): Promise<number> =>
    inSpawnHost(
      (host) => {
        const scope = scopeNow()
        return scope ? host.signalEscaped({ root, marker, scope, signal }) : Promise.resolve(0)
      },
      () => {
        const scope = scopeNow()
        return scope ? signalEscapedHere(root, marker, scope, signal) : 0
      },
      hostTimeoutMs,
    )
  const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
  /** Looks until none is found (true) or `until` (performance.now()) passed (false). */
  const goneBy = async (until: number): Promise<boolean> => {
    for (let wait = firstLookMs; performance.now() < until; wait *= 2) {
      await after(Math.min(wait, until - performance.now()))
      if ((await signalAll(0)) === 0) return true
    }
    return false
  }
  return (async () => {
    if ((await signalAll('SIGTERM')) === 0) return
    if (await goneBy(performance.now() + graceMs)) return
    if ((await signalAll('SIGKILL')) === 0) return
    await goneBy(performance.now() + Math.max(graceMs, minKillWaitMs))
  })()
}
