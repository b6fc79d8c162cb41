import type pg from 'pg'
import type PgBoss from 'pg-boss'
import { markIfStoreBusy } from '../../util/store-busy.js'
import { markIfStoreUnavailable, StoreNoAnswer } from '../../util/store-unavailable.js'

/**
 * pg-boss's statements on its own pool, each bounded by `ms` (STORE_QUERY_TIMEOUT_SECONDS; 0: none) from its call,
 * its wait for a connection included, as the store's reads are: a server that hangs (SIGSTOP, frozen, partitioned)
 * fails one with StoreNoAnswer naming `what`, and its connection is destroyed, never handed out again with the
 * statement pending (the pool ends a connection released with an error). The statement is not undone on the
 * server: it may still run once the server wakes, so a caller cuts only a statement whose late effect harms nothing
 * (a job sent twice, a job completed late, jobs fetched and never taken: handed out again once they expire).
 * Failures are marked as the store's (store_unavailable, store_busy).
 */
export function boundedBossDb(pool: pg.Pool, ms: number, what: string): PgBoss.Db {
  return {
    executeSql: async (text, values) => {
      try {
        return await bounded(pool, ms, what, text, values)
      } catch (err) {
        markIfStoreBusy(err)
        markIfStoreUnavailable(err)
        throw err
      }
    },
  }
}

async function bounded(
  pool: pg.Pool,
  ms: number,
  what: string,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult> {
  if (ms <= 0) return pool.query(text, values)
  const deadline = Date.now() + ms
  // bounded by the pool's connectionTimeoutMillis (the same ms: PgBossRunQueue.start): a new connection to a hung
  // server is the same no-answer as a statement's, and says so (before: the driver's "Connection terminated due to
  // connection timeout", naming neither the statement nor the bound)
  const client = await pool.connect().catch((err: unknown) => {
    throw connectTimedOut(err) ? new StoreNoAnswer(what, ms, { cause: err }) : err
  })
  // the server's FATAL can come after the answer, before the release: heard here, as pg-pool's own query() does
  client.on('error', ignore)
  let failed: Error | undefined
  try {
    // the driver's query_timeout, which its types leave out of QueryConfig
    const query = Object.assign({ text, values }, { query_timeout: Math.max(1, deadline - Date.now()) })
    return await client.query(query).catch((err: unknown) => {
      throw err instanceof Error && err.message === 'Query read timeout'
        ? new StoreNoAnswer(what, ms, { cause: err })
        : err
    })
  } catch (err) {
    failed = err as Error
    throw err
  } finally {
    client.removeListener('error', ignore)
    client.release(failed)
  }
}

const ignore = () => {}

/** pg's and pg-pool's errors for a connection not made within connectionTimeoutMillis. */
const connectTimedOut = (err: unknown) =>
  err instanceof Error &&
  (err.message === 'Connection terminated due to connection timeout' ||
    err.message === 'timeout exceeded when trying to connect')
