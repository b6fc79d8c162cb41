import { type ProcessTable, procTable } from './proc-table.js'
import { carriesMarker } from './process-marker.js'

/**
 * Some programs (codex app-server) start helpers in sessions of their own (its shell snapshot, the commands it
 * runs), so when the program itself dies (crash, SIGKILL) they are reparented to init and a process-group kill
 * misses them. Such a program gets a unique value in this variable, which its descendants inherit; after it
 * ended, the processes still carrying that value are its leftovers and are ended. Linux only (/proc); best
 * effort (a command run with a scrubbed environment is not found). The variable: process-marker.ts.
 */

/** Live processes (of this user) whose environment carries `marker`. */
export function markedProcesses(marker: string, table: ProcessTable = procTable()): number[] {
  return table.pids().filter((pid) => {
    if (pid === process.pid) return false
    const env = table.environ(pid)
    return env !== null && carriesMarker(env, marker)
  })
}

/**
 * Ends every process left with `marker`: SIGTERM now (shell scripts run their exit traps and release their
 * locks), SIGKILL after `graceMs` for what is still there (including children forked meanwhile). A sweep of
 * `marker` whose SIGKILL pass is still to come already covers a second call (spawn-group.ts sweeps a group
 * whose output outlived it, then its runner sweeps after its end): that pass looks for them again.
 */
export function endMarked(marker: string, graceMs: number): void {
  if (pending.has(marker)) return
  const signalAll = (signal: NodeJS.Signals) => {
    const pids = markedProcesses(marker)
    for (const pid of pids) {
      try {
        process.kill(pid, signal)
      } catch {
        // already gone
      }
    }
    return pids.length
  }
  if (signalAll('SIGTERM') === 0) return
  pending.add(marker)
  setTimeout(() => {
    signalAll('SIGKILL')
    pending.delete(marker)
  }, graceMs).unref()
}

/**
 * The markers whose sweep still waits for its SIGKILL pass. The timer is unref'd (it never keeps the process
 * alive), so a gateway that exits meanwhile would leave what ignored the SIGTERM: the exit sweep
 * (exit-sweep.ts) ends these too.
 */
const pending = new Set<string>()

export function pendingMarkers(): readonly string[] {
  return [...pending]
}
