import { procScan } from './proc-scan.js'

/**
 * Where the pids of a program's descendants can lie, so a sweep of its leftovers (marker-sweeps.ts) looks only at
 * those processes, not at every process of the machine (a /proc/<pid>/stat read each: 10-100 µs, more under load).
 *
 * Linux hands out pids in a namespace in turn (a cursor: the next free id after the last one given, wrapping at
 * pid_max to 300). Every descendant of a program forked after its leader, so its pid lies between the leader's
 * and the last pid given (/proc/loadavg), that range wrapping once at most: unless the cursor went all the way
 * round past the leader's pid again. It cannot have: each id it passed was given to a new task (a fork: /proc/stat
 * `processes` counts every one on the machine) or was in use (a task's pid, process group or session id: at most
 * 3 per task, tasks alive before, `tasks` of /proc/loadavg, or forked since). So with `forks` and `tasks` read before
 * the leader's fork, and `forks` again at the pass, it moved at most 3 * tasks + 4 * (forks since); while that is
 * less than pid_max - 300 the range is sound, else the pass looks at every process again (by start time: `since`).
 * The figures read earlier than the fork are as sound (more forks since, no fewer ids in use), so one snapshot
 * serves the spawns of `snapshotMaxAgeMs`.
 *
 * Limits: a process that chooses its own pid (clone3's set_tid, a write to ns_last_pid: CAP_CHECKPOINT_RESTORE,
 * checkpoint/restore tools) is not bound by the cursor and may be missed, as one that scrubbed its environment is.
 * Linux only (null elsewhere, or when /proc is not of this process's pid namespace).
 */

/** What /proc says about the pid cursor at one moment. */
export interface PidCounters {
  /** Tasks forked since boot (/proc/stat `processes`, threads included, every namespace). */
  forks: number
  /** Tasks alive (/proc/loadavg, every namespace). */
  tasks: number
  /** The last pid given in this process's namespace (/proc/loadavg). */
  lastPid: number
  /** Where pids wrap (/proc/sys/kernel/pid_max). */
  pidMax: number
}

/** A program's leader and the counters read before it was forked: its descendants' pids lie from `pid` on. */
export interface PidWindow {
  pid: number
  forks: number
  tasks: number
  pidMax: number
}

/** The counters read before a fork, as `pidWindow` needs them. */
export type PidSnapshot = Omit<PidWindow, 'pid'>

/** How long one snapshot serves (older: more forks since, a range that fails its bound sooner). */
export const snapshotMaxAgeMs = 100

let last: { at: number; snapshot: PidSnapshot | null } | undefined

/** The counters, read now or up to snapshotMaxAgeMs ago; null when there are none (not Linux). Before a fork. */
export function pidSnapshot(): PidSnapshot | null {
  const now = performance.now()
  if (!last || now - last.at > snapshotMaxAgeMs) {
    const counters = procScan().pidCounters()
    last = {
      at: now,
      snapshot: counters && { forks: counters.forks, tasks: counters.tasks, pidMax: counters.pidMax },
    }
  }
  return last.snapshot
}

/** The window of a leader forked after `snapshot` was read; undefined when either is unknown. */
export function pidWindow(snapshot: PidSnapshot | null, pid: number | undefined): PidWindow | undefined {
  return snapshot && pid !== undefined ? { ...snapshot, pid } : undefined
}
