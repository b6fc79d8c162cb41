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
  /**
   * Whether it is a sandbox launcher (bwrap, codex's own copy included) that still holds the eventfd its parent
   * writes to let it start its command. Once that parent is gone (the launcher escaped), it waits forever: codex
   * killed a launch it no longer needed (a file-system helper) in the instant after its fork, under load.
   */
  waitsToStart(pid: number): boolean
}

/** The live processes as /proc shows them; each file is read when asked, parents remembered (proc-scan-source.ts). */
export function procTable(): ProcessTable {
  return procScan().procTable()
}
