import { readFileSync } from 'node:fs'
import { type ProcessTable, procTable } from './proc-table.js'
import { serverMarker, serverMarkerVariable } from './server-marker.js'

/**
 * A spawn host killed between a child's exec and its report of the pid leaves that child running with no pid
 * here (nothing else would end it). The host's children lead process groups of their own and carry this
 * server's marker (spawn-group.ts): the group leaders with the marker that started after the host are its
 * children, or what they set apart in a group of their own; once the host died, all of them are to end, as the
 * children it reported are. Linux only (/proc); empty elsewhere.
 */
export function hostLeftovers(hostStartTime: number, table: ProcessTable = procTable()): number[] {
  const marker = `${serverMarkerVariable}=${serverMarker()}`
  return table.pids().filter((pid) => {
    if (pid === process.pid) return false
    const stat = statOf(pid)
    if (!stat || stat.pgid !== pid || stat.startTime < hostStartTime) return false
    return table.environ(pid)?.includes(marker) ?? false
  })
}

/** The process group and start time (clock ticks since boot) of `pid` (/proc/<pid>/stat), or null. */
export function statOf(pid: number): { pgid: number; startTime: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { pgid: Number(fields[2]), startTime: Number(fields[19]) }
  } catch {
    return null
  }
}
