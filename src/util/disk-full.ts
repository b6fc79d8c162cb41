/**
 * Which store's disk `err` says is full: DATA_DIR's (SQLite's SQLITE_FULL, `database or disk is full`, or a file
 * write's ENOSPC), the PostgreSQL server's (SQLSTATE 53100 `disk_full`: `could not extend file ...: No space left
 * on device`, as the pg driver gives it), or undefined for any other error. PostgreSQL's other resource errors
 * (53200 out_of_memory, 53300 too_many_connections, 53400 configuration_limit_exceeded) are no full disk.
 */
export function fullDisk(err: unknown): 'data_dir' | 'postgres' | undefined {
  const code = (err as { code?: unknown } | undefined)?.code
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return 'data_dir'
  return code === '53100' ? 'postgres' : undefined
}

/** Whether `err` says the disk of the store is full (fullDisk). */
export function isDiskFull(err: unknown): boolean {
  return fullDisk(err) !== undefined
}
