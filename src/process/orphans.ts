import { readFileSync } from 'node:fs'
import { killGroup } from './terminate.js'

/**
 * Ends a process group a previous server left behind, but only if its leader is still the program that
 * server started (the pid may have been reused since): /proc/<pid>/cmdline must start with `command`.
 */
export function killOrphanedGroup(pid: number, command: string): boolean {
  let cmdline: string
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return false
  }
  if (!cmdline.startsWith(`${command}\0`) && cmdline !== command) return false
  return killGroup(pid, 'SIGKILL')
}
