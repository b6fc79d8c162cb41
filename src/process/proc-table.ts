import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { procStat } from './proc-stat.js'

/** What the process sweeps need to know about live processes (the real one reads /proc; tests give a fake). */
export interface ProcessTable {
  pids(): number[]
  /** The working directory, or null when unknown (exited, not ours). */
  cwd(pid: number): string | null
  /** The parent pid, or null when unknown. */
  ppid(pid: number): number | null
  /** The environment as `NAME=value` entries, or null when unknown. */
  environ(pid: number): string[] | null
}

/** The live processes as /proc shows them; each file is read when asked, parents remembered. */
export function procTable(): ProcessTable {
  const parents = new Map<number, number | null>()
  return {
    pids() {
      try {
        return readdirSync('/proc')
          .filter((name) => /^\d+$/.test(name))
          .map(Number)
      } catch {
        return []
      }
    },
    cwd(pid) {
      try {
        return readlinkSync(`/proc/${pid}/cwd`)
      } catch {
        return null // exited meanwhile, or not ours to read
      }
    },
    ppid(pid) {
      if (!parents.has(pid)) parents.set(pid, procStat(pid)?.ppid ?? null)
      return parents.get(pid) ?? null
    },
    environ(pid) {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')
      } catch {
        return null // exited meanwhile, or not ours to read
      }
    },
  }
}
