import path from 'node:path'
import { procScan } from './proc-scan.js'
import { procStat } from './proc-stat.js'
import { type ProcessTable, procTable } from './proc-table.js'

/**
 * Every process the gateway starts carries `AGENT_GATEWAY_SERVER=<server pid>:<its start time>` in its
 * environment, and so do its descendants (helpers in other process groups and sessions included). After a
 * crash (kill -9) nothing ends them; the next server to start on the same directories finds the processes
 * whose server no longer runs and that work inside those directories (its workspace roots, its data dir),
 * and ends them, for sessions (ACP agents, app-servers) as for runs. Another gateway's orphans, elsewhere, are
 * left to that gateway. Linux only (/proc); a process that scrubbed its environment is not found (process
 * groups recorded with runs cover those).
 */
export const serverMarkerVariable = 'AGENT_GATEWAY_SERVER'

/** A name that ends with `_AGENT_GATEWAY_SERVER`, and its value. */
const suffixed = new RegExp(`^[A-Za-z0-9_]+_${serverMarkerVariable}=(.*)$`, 's')

/**
 * The server marker in an environment: in `serverMarkerVariable`, or in a name that ends with `_` + it (Gemini
 * CLI's strict env filter keeps only its own `GEMINI_CLI_*` names for its commands, so gemini passes the marker
 * on as `GEMINI_CLI_AGENT_GATEWAY_SERVER` too: process-marker.ts `carriesMarker` does the same for a program's).
 */
export function serverMarkerIn(environ: readonly string[] | null): string | undefined {
  if (!environ) return undefined
  const own = `${serverMarkerVariable}=`
  const exact = environ.find((e) => e.startsWith(own))
  if (exact !== undefined) return exact.slice(own.length)
  return environ.map((e) => suffixed.exec(e)?.[1]).find((value) => value !== undefined)
}

let own: string | undefined

/** This server's marker (pid plus start time, so a reused pid is not mistaken for it). */
export function serverMarker(): string {
  own ??= `${process.pid}:${startTimeOf(process.pid) ?? Date.now()}`
  return own
}

/** The start time of a process in clock ticks since boot, as the marker writes it, or null. */
const startTimeOf = (pid: number): string | null => {
  const startTime = procStat(pid)?.startTime
  return startTime === undefined ? null : String(startTime)
}

/** Whether the server that wrote `marker` still runs (same pid, same start time). */
function serverAlive(marker: string): boolean {
  const [pid, started] = marker.split(':')
  if (!pid || !/^\d+$/.test(pid)) return false
  return startTimeOf(Number(pid)) === started
}

/**
 * Whether `pid` carries the marker of a server that no longer runs: a process a crashed gateway left, not one of
 * a gateway that runs (this one included) that happens to have a pid recorded by a dead one.
 */
export function leftByDeadServer(pid: number, table: ProcessTable = procTable()): boolean {
  const marker = serverMarkerIn(table.environ(pid))
  return marker !== undefined && !serverAlive(marker)
}

/** Whether a working directory is one of `dirs` or below one. */
const worksIn = (cwd: string | null, dirs: readonly string[]): boolean =>
  cwd !== null && dirs.some((d) => cwd === d || cwd.startsWith(d + path.sep))

/** Processes working inside `dirs` that carry a marker of a server that no longer runs. */
export function orphanedProcesses(dirs: readonly string[]): number[] {
  const within = dirs.map(procScan().realDir)
  const table = procTable()
  const found: number[] = []
  const alive = new Map<string, boolean>()
  for (const pid of table.pids()) {
    if (pid === process.pid) continue
    const marker = serverMarkerIn(table.environ(pid))
    if (!marker || !worksIn(table.cwd(pid), within)) continue
    if (!alive.has(marker)) alive.set(marker, serverAlive(marker))
    if (!alive.get(marker)) found.push(pid)
  }
  return found
}

/** Ends (SIGKILL) what dead servers left running inside `dirs`; returns how many processes were found. */
export function endOrphanedProcesses(dirs: readonly string[]): number {
  const pids = orphanedProcesses(dirs)
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  return pids.length
}
