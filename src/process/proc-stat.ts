import { procScan } from './proc-scan.js'

/** The fields of /proc/<pid>/stat the process sweeps use. */
export interface ProcStat {
  /** R, S, D, Z (exited, not yet reaped: holds no memory, files or locks any more), ... */
  state: string
  ppid: number
  pgid: number
  /** Clock ticks since boot (field 22): with the pid, names a process that a reused pid cannot be taken for. */
  startTime: number
}

/** /proc/<pid>/stat of a live process, or null (gone, not ours to read, or not Linux): proc-scan-source.ts. */
export function procStat(pid: number): ProcStat | null {
  return procScan().procStat(pid)
}

/** Whether `pid` is still the process that started at `startTime` (and has not exited): not a reused pid. */
export function sameProcess(pid: number, startTime: number): boolean {
  const stat = procStat(pid)
  return stat !== null && stat.state !== 'Z' && stat.startTime === startTime
}
