import { procStat } from './proc-stat.js'
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
    const stat = procStat(pid)
    if (!stat || stat.pgid !== pid || stat.startTime < hostStartTime) return false
    return table.environ(pid)?.includes(marker) ?? false
  })
}
