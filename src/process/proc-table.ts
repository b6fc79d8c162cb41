import { procScan } from './proc-scan.js'

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

/** The live processes as /proc shows them; each file is read when asked, parents remembered (proc-scan-source.ts). */
export function procTable(): ProcessTable {
  return procScan().procTable()
}
