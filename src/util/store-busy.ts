/**
 * A store write that waited too long for a lock another client of its PostgreSQL server holds (another node's or
 * an operator's open transaction, a migration): PostgreSQL ended the wait itself (SQLSTATE 55P03
 * lock_not_available, lock_timeout), so the server answers: it is neither down nor hung. A request answers 503
 * store_busy with Retry-After; nothing of the write was stored (its transaction is rolled back).
 */
export class StoreLockWait extends Error {
  constructor(ms: number, options?: ErrorOptions) {
    super(
      `PostgreSQL ended a wait of ${ms / 1000} s for a lock another client holds (another node's or an operator's open transaction; 55P03 lock_not_available): the server answers, the transaction was rolled back, nothing of it stored`,
      options,
    )
    this.name = 'StoreLockWait'
  }
}

/** PostgreSQL's SQLSTATE for a lock wait ended by its lock_timeout (or a NOWAIT lock not granted). */
export const lockNotAvailable = '55P03'

/** Whether `err` is PostgreSQL's own lock_not_available (55P03), as the pg driver gives it. */
export function pgLockNotAvailable(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === lockNotAvailable
}

const busyMark = Symbol('store busy')

/** Marks `err`, a failure of a store call, when it is PostgreSQL's lock_not_available (55P03). */
export function markIfStoreBusy(err: unknown): void {
  if (typeof err === 'object' && err !== null && pgLockNotAvailable(err) && Object.isExtensible(err))
    Object.defineProperty(err, busyMark, { value: true })
}

/** Whether `err` (or an error it was caused by) is a store call's lock wait ended (StoreLockWait, markIfStoreBusy). */
export function isStoreBusy(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    if (e instanceof StoreLockWait || (e as { [busyMark]?: boolean })[busyMark]) return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

/**
 * How long a store connection's statement waits for a lock (its session's lock_timeout, sent with the connection's
 * startup): three quarters of STORE_QUERY_TIMEOUT_SECONDS (`queryMs`), so a lock held elsewhere (an operator's
 * `LOCK TABLE`, an `ALTER TABLE`, another node's or an operator's open transaction) ends the wait with the server's
 * own error (55P03) before the client-side bound takes it for a hung server, for a read or a single write as for a
 * transaction's statement; PG_LOCK_TIMEOUT_SECONDS (`lockMs`) when that is shorter. Without a client-side bound
 * (`queryMs` 0): PG_LOCK_TIMEOUT_SECONDS itself (0: never).
 */
export function connectionLockWait(queryMs: number, lockMs: number): number {
  if (queryMs <= 0) return lockMs
  const ms = Math.max(1, Math.floor((queryMs * 3) / 4))
  return lockMs > 0 && lockMs <= ms ? lockMs : ms
}

/**
 * How long a transaction's COMMIT waits for a lock it takes there (the cluster's admission lock, migration 11):
 * the whole of STORE_QUERY_TIMEOUT_SECONDS (`queryMs`), not connectionLockWait's three quarters, since COMMIT is
 * not cut on the client side (nothing to be taken for a hung server); PG_LOCK_TIMEOUT_SECONDS (`lockMs`) when that
 * is shorter, or when there is no client-side bound (0: never).
 */
export function commitLockWait(queryMs: number, lockMs: number): number {
  if (queryMs <= 0) return lockMs
  return lockMs > 0 && lockMs <= queryMs ? lockMs : queryMs
}
