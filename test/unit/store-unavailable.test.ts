import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { toAppError } from '../../src/http/errors.js'
import {
  isOutageBeforeWrite,
  markIfStoreUnavailable,
  markNotStarted,
  pgUnavailable,
  StoreNoAnswer,
} from '../../src/util/store-unavailable.js'

const pgError = (code: string, message: string) =>
  Object.assign(new pg.DatabaseError(message, 0, 'error'), { code })
const sysError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code })

/**
 * The PostgreSQL store's server unreachable or taking no connections: a request answers 503 store_unavailable with
 * Retry-After (before: 500 internal error). Only what the store marked: another socket's ECONNREFUSED is no store's.
 * health-store-down.test.ts checks it on a real server (its database closed, its pg_wal full).
 */
describe('the store unavailable', () => {
  it("the server's connection errors are; a query it refused is not", () => {
    for (const err of [
      sysError('ECONNREFUSED'),
      sysError('ECONNRESET'),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('57P02', 'terminating connection because of crash of another server process'),
      pgError('57P03', 'the database system is in recovery mode'),
      pgError('08006', 'connection failure'),
      pgError('55000', 'database "agw" is not currently accepting connections'),
      new Error('Connection terminated unexpectedly'),
      // a read or a BEGIN a hung server did not answer within STORE_QUERY_TIMEOUT_SECONDS
      new StoreNoAnswer('a read', 2000),
    ])
      expect(pgUnavailable(err), err.message).toBe(true)
    for (const err of [
      pgError('53100', 'could not extend file'),
      pgError('55000', 'object not in prerequisite state'),
      pgError('23505', 'duplicate key'),
      new Error('boom'),
    ])
      expect(pgUnavailable(err), err.message).toBe(false)
  })

  it('a request meeting one the store marked: 503 store_unavailable, retry in 5 s; unmarked: 500', () => {
    const marked = sysError('ECONNREFUSED')
    markIfStoreUnavailable(marked)
    expect(toAppError(marked)).toMatchObject({
      code: 'store_unavailable',
      status: 503,
      details: { retryAfterSeconds: 5 },
      message: expect.stringMatching(/PostgreSQL server cannot be reached.*retry once/),
    })
    // wrapped by a caller: still the store's
    expect(toAppError(new Error('creating the session failed', { cause: marked }))).toMatchObject({
      code: 'store_unavailable',
    })
    // a webhook's or an agent's refused connection is not the store's
    expect(toAppError(sysError('ECONNREFUSED'))).toMatchObject({ code: 'internal', status: 500 })
  })

  it('an outage a write may be tried again after: marked before its transaction started, the server away', () => {
    const marked = (err: Error) => {
      markNotStarted(err)
      return err
    }
    for (const err of [
      sysError('ECONNREFUSED'),
      sysError('ENOENT'),
      pgError('57P03', 'the database system is starting up'),
      pgError('53300', 'sorry, too many clients already'),
      pgError('55000', 'database "agw" is not currently accepting connections'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
      new StoreNoAnswer("a transaction's BEGIN", 2000),
    ])
      expect(isOutageBeforeWrite(marked(err)), err.message).toBe(true)
    // not marked (lost mid-transaction or at COMMIT: it may be stored), or marked but not an outage
    expect(isOutageBeforeWrite(sysError('ECONNREFUSED'))).toBe(false)
    expect(isOutageBeforeWrite(new Error('Connection terminated unexpectedly'))).toBe(false)
    expect(isOutageBeforeWrite(marked(pgError('28P01', 'password authentication failed')))).toBe(false)
  })
})
