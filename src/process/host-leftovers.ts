import { procStat } from './proc-stat.js'
import { type ProcessTable, procTable } from './proc-table.js'
import { serverMarker, serverMarkerVariable } from './server-marker.js'

/** A process the dead host left, and how to end it. */
export interface Leftover {
  pid: number
  startTime: number
  /** Its process group is its own (an exec'd child): the group is signalled, helpers in it included. */
  group: boolean
}

/**
 * A spawn host killed between a child's exec and its report of the pid leaves that child running with no pid
 * here (nothing else would end it). The host's children lead process groups of their own and carry this
 * server's marker (spawn-group.ts): the group leaders with the marker that started after the host are its
 * children, or what they set apart in a group of their own; once the host died, all of them are to end, as the
 * children it reported are. A host killed between a fork and its exec leaves a child that still has the host's
 * own environment, its socket's path among it (`hostEnvironment`): that one would exec the agent a moment later,
 * so it is found by that entry. Linux only (/proc); empty elsewhere.
 */
export function hostLeftovers(
  hostStartTime: number,
  hostEnvironment?: string,
  table: ProcessTable = procTable(),
): Leftover[] {
  const marker = `${serverMarkerVariable}=${serverMarker()}`
  return table.pids().flatMap((pid): Leftover[] => {
    if (pid === process.pid) return []
    const stat = procStat(pid)
    if (!stat || stat.state === 'Z' || stat.startTime < hostStartTime) return []
    const environ = table.environ(pid)
    if (stat.pgid === pid && environ?.includes(marker))
      return [{ pid, startTime: stat.startTime, group: true }]
    if (hostEnvironment !== undefined && environ?.includes(hostEnvironment))
      return [{ pid, startTime: stat.startTime, group: false }]
    return []
  })
}
