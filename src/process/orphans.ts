import { readFileSync } from 'node:fs'
import { leftByDeadServer } from './server-marker.js'
import { killGroup } from './terminate.js'

/**
 * Ends a process group a previous server left behind, but only if its leader is still the program that
 * server started (the pid may have been reused since): /proc/<pid>/cmdline must start with `command`, and its
 * environment must carry the marker of a server that no longer runs (server-marker.ts); the same program started
 * since by a gateway that runs (this one, or another on the machine) is not taken for it.
 */
export function killOrphanedGroup(pid: number, command: string): boolean {
  let cmdline: string
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return false
  }
  if (!cmdline.startsWith(`${command}\0`) && cmdline !== command) return false
  if (!leftByDeadServer(pid)) return false
  return killGroup(pid, 'SIGKILL')
}
