import { pendingMarkers } from './marked-processes.js'
import { procStat } from './proc-stat.js'
import { type ProcessTable, procTable } from './proc-table.js'
import { carriesMarker } from './process-marker.js'
import { serverMarker, serverMarkerIn } from './server-marker.js'

/**
 * The last step of a graceful stop, once every run and session ended: whatever this server's agents started
 * and is still running ends before the process exits ("no process outlives its run"). A daemon a command
 * started (setsid, a double fork) and that ignores SIGTERM got its SIGTERM when its program ended, but the
 * SIGKILL that follows is a timer that never keeps the process alive (marked-processes.ts): the gateway exited
 * first, and the daemon lived on. Found: the processes that carry this server's marker (server-marker.ts, in
 * either of its names) or a marker whose sweep still waits for its SIGKILL. Linux only (/proc); a process that
 * scrubbed its whole environment is not found.
 */

/** What the sweep did: processes found, how many needed SIGKILL, how many were still there at the end. */
export interface ExitSweep {
  found: number
  killed: number
  left: number
}

/** The live processes (zombies excepted) this server started, by their markers. */
export function serverProcesses(
  table: ProcessTable = procTable(),
  markers: readonly string[] = pendingMarkers(),
  own: string = serverMarker(),
  self: number = process.pid,
): number[] {
  return table.pids().filter((pid) => {
    if (pid === self) return false
    const env = table.environ(pid)
    if (!env) return false
    if (serverMarkerIn(env) !== own && !markers.some((m) => carriesMarker(env, m))) return false
    return procStat(pid)?.state !== 'Z'
  })
}

const signal = (pids: readonly number[], name: NodeJS.Signals) => {
  for (const pid of pids) {
    try {
      process.kill(pid, name)
    } catch {
      // already gone
    }
  }
}

/**
 * SIGTERM to every process this server started, SIGKILL after `graceMs` to what is still there (children
 * forked meanwhile included), then at most `killWaitMs` more for them to go. Found again at each look (every
 * `pollMs`: a process that is not our child gives no event when it ends), so a stop whose processes all end
 * at the SIGTERM does not wait the whole grace. Bounded: graceMs + killWaitMs and a scan per look.
 */
export async function endServerProcesses(
  graceMs: number,
  { pollMs = 50, killWaitMs = 2000, find = () => serverProcesses() } = {},
): Promise<ExitSweep> {
  const first = find()
  if (first.length === 0) return { found: 0, killed: 0, left: 0 }
  const seen = new Set(first)
  signal(first, 'SIGTERM')
  const lookUntil = async (deadline: number, each?: (pids: number[]) => void): Promise<number[]> => {
    for (;;) {
      const now = find()
      for (const pid of now) seen.add(pid)
      each?.(now)
      if (now.length === 0 || Date.now() >= deadline) return now
      await new Promise((resolve) => setTimeout(resolve, pollMs))
    }
  }
  // a child forked meanwhile (a shell's trap) gets its SIGTERM as well
  const signalled = new Set(first)
  const afterTerm = await lookUntil(Date.now() + graceMs, (pids) => {
    const fresh = pids.filter((pid) => !signalled.has(pid))
    for (const pid of fresh) signalled.add(pid)
    signal(fresh, 'SIGTERM')
  })
  if (afterTerm.length === 0) return { found: seen.size, killed: 0, left: 0 }
  const killed = new Set(afterTerm)
  signal(afterTerm, 'SIGKILL')
  const left = await lookUntil(Date.now() + killWaitMs, (pids) => {
    const fresh = pids.filter((pid) => !killed.has(pid))
    for (const pid of fresh) killed.add(pid)
    signal(fresh, 'SIGKILL')
  })
  return { found: seen.size, killed: killed.size, left: left.length }
}
