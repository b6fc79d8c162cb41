/** Whether `err` says the disk is full: SQLite's SQLITE_FULL (`database or disk is full`) or a file write's ENOSPC. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  return code === 'SQLITE_FULL' || code === 'ENOSPC'
}
