import { StoreLockWait } from './store-busy.js'

/**
 * Marks `err`, a failure of a store call, when it says the store's PostgreSQL server is unavailable
 * (pgUnavailable): the PostgreSQL store marks what its queries and connections fail with, so an ECONNREFUSED of
 * anything else (a webhook, an agent) is not taken for the store's.
 */
export function markIfStoreUnavailable(err: unknown): void {
  if (typeof err === 'object' && err !== null && pgUnavailable(err) && Object.isExtensible(err))
    Object.defineProperty(err, unavailableMark, { value: true })
}

/** Whether `err` (or an error it was caused by) is a store call's failure marked by markIfStoreUnavailable. */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    if ((e as { [unavailableMark]?: boolean })[unavailableMark]) return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

const unavailableMark = Symbol('store unavailable')

/**
 * Whether `err` says the PostgreSQL server of the store cannot be reached or is not taking connections now (as the
 * pg driver gives it), as opposed to a query it refused: the connection refused or reset (the server stopped, or
 * gone after a PANIC: a full pg_wal ends in its shutdown), ended under the query (57P01 admin_shutdown, 57P02
 * crash_shutdown: another backend's PANIC), refused while it starts or recovers (57P03 cannot_connect_now), a
 * connection exception (class 08), or its database closed to connections (ALLOW_CONNECTIONS false). A request
 * that meets one answers 503 store_unavailable, not 500: nothing is wrong with the request or the gateway.
 */
export function pgUnavailable(err: unknown): boolean {
  if (err instanceof StoreNoAnswer) return true
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  if (typeof code === 'string') {
    if (unreachable.has(code) || shutdown.has(code) || code.startsWith('08')) return true
    if (
      code === '55000' &&
      typeof message === 'string' &&
      /not currently accepting connections/.test(message)
    )
      return true
  }
  // the driver's own errors for a connection that ended under a query or could not be made in time
  return (
    typeof message === 'string' &&
    /^(Connection terminated( unexpectedly| due to connection timeout)?|timeout exceeded when trying to connect)$/.test(
      message,
    )
  )
}

/**
 * A store query PostgreSQL did not answer within STORE_QUERY_TIMEOUT_SECONDS (a read outside a transaction, or a
 * transaction's BEGIN): the server hangs (stopped with SIGSTOP, frozen, a network partition), unavailable as a
 * stopped one is. Its connection was destroyed (never handed out again with the query pending).
 */
export class StoreNoAnswer extends Error {
  constructor(what: string, ms: number, options?: ErrorOptions) {
    super(
      `PostgreSQL did not answer ${what} within ${ms / 1000} s (STORE_QUERY_TIMEOUT_SECONDS): the server hangs or cannot be reached`,
      options,
    )
    this.name = 'StoreNoAnswer'
  }
}

/** A socket's errors for a server that is not there (stopped, restarting) or went away. */
const unreachable = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
])
/** SQLSTATE class 57P: the server ended the connection or is not taking them yet. */
const shutdown = new Set(['57P01', '57P02', '57P03'])

const notStartedMark = Symbol('store write not started')

/**
 * Marks `err`, a failure of a store write that came before its transaction could start (its connection could not
 * be made, or failed at BEGIN): nothing of the write reached the server (a BEGIN the server ran is rolled back
 * with its connection), so the write may be tried again without storing anything twice.
 */
export function markNotStarted(err: unknown): void {
  if (typeof err === 'object' && err !== null && Object.isExtensible(err))
    Object.defineProperty(err, notStartedMark, { value: true })
}

/**
 * Whether `err` is a store write's failure for its server being away (stopped, restarting, failing over, out of
 * connections: pgUnavailable, a socket file missing, 53300 too_many_connections, a pooled connection the driver
 * knows is broken) that came before its transaction
 * could start (markNotStarted): a write that may be tried again once the server answers (EventLog's outage
 * grace). A connection that ended mid-transaction or mid-COMMIT is not one: what it wrote may be stored. A
 * transaction's lock wait PostgreSQL ended (StoreLockWait: a lock another client holds) counts too: rolled back,
 * nothing of it stored, tried again alike.
 */
export function isOutageBeforeWrite(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !(err as { [notStartedMark]?: boolean })[notStartedMark])
    return false
  const { code, message } = err as { code?: unknown; message?: unknown }
  return (
    pgUnavailable(err) ||
    code === 'ENOENT' ||
    code === '53300' ||
    // a statement's lock wait PostgreSQL ended (a lock another client holds): its transaction rolled back
    err instanceof StoreLockWait ||
    // a pooled connection that failed while idle, handed out again: refused at BEGIN by the driver itself
    (typeof message === 'string' && /connection error and is not queryable/.test(message))
  )
}
