import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { toAppError } from '../../src/http/errors.js'
import {
  commitLockWait,
  connectionLockWait,
  isStoreBusy,
  markIfStoreBusy,
  StoreLockWait,
} from '../../src/util/store-busy.js'
import { isOutageBeforeWrite, markNotStarted, pgUnavailable } from '../../src/util/store-unavailable.js'

const lockTimeout = () =>
  Object.assign(new pg.DatabaseError('canceling statement due to lock timeout', 0, 'error'), {
    code: '55P03',
  })

/**
 * A lock another client of the store's PostgreSQL server holds is no outage: a request answers 503 store_busy with
 * Retry-After (not store_unavailable, "cannot be reached"). postgres-lock-wait.test.ts checks it on a real server.
 */
describe('the store busy with a lock held elsewhere', () => {
  it("a connection's lock wait is three quarters of STORE_QUERY_TIMEOUT_SECONDS, or PG_LOCK_TIMEOUT_SECONDS when shorter", () => {
    expect(connectionLockWait(10_000, 30_000)).toBe(7500)
    expect(connectionLockWait(2000, 30_000)).toBe(1500)
    expect(connectionLockWait(10_000, 5000)).toBe(5000)
    // PG_LOCK_TIMEOUT_SECONDS=0 (never): the client-side bound still needs one below it
    expect(connectionLockWait(10_000, 0)).toBe(7500)
    // no client-side bound: PG_LOCK_TIMEOUT_SECONDS as it is
    expect(connectionLockWait(0, 30_000)).toBe(30_000)
    expect(connectionLockWait(0, 0)).toBe(0)
  })

  it("an admission's COMMIT waits for the cluster's lock the whole STORE_QUERY_TIMEOUT_SECONDS (COMMIT is not cut), PG_LOCK_TIMEOUT_SECONDS if shorter", () => {
    expect(commitLockWait(10_000, 30_000)).toBe(10_000)
    expect(commitLockWait(10_000, 5000)).toBe(5000)
    expect(commitLockWait(10_000, 0)).toBe(10_000)
    expect(commitLockWait(0, 30_000)).toBe(30_000)
    expect(commitLockWait(0, 0)).toBe(0)
  })

  it('a request meeting one: 503 store_busy naming a lock held elsewhere, retry in 5 s; not store_unavailable', () => {
    const wait = new StoreLockWait(1500, { cause: lockTimeout() })
    expect(pgUnavailable(wait)).toBe(false)
    expect(toAppError(wait)).toMatchObject({
      code: 'store_busy',
      status: 503,
      details: { retryAfterSeconds: 5 },
      message: expect.stringMatching(/held by another client of its PostgreSQL server/),
    })
    // a single statement's, ended by the connection's own lock_timeout, once the store marked it
    const single = lockTimeout()
    expect(isStoreBusy(single)).toBe(false)
    markIfStoreBusy(single)
    expect(toAppError(new Error('claiming failed', { cause: single }))).toMatchObject({ code: 'store_busy' })
  })

  it("a transaction's lock wait ended may be tried again (rolled back, nothing stored), as an outage before the write", () => {
    const wait = new StoreLockWait(1500)
    expect(isOutageBeforeWrite(wait)).toBe(false)
    markNotStarted(wait)
    expect(isOutageBeforeWrite(wait)).toBe(true)
  })
})
