import { z } from 'zod'

/**
 * The error registry: every code with its HTTP status and a default message. One error class (AppError);
 * surfaces turn AppErrors into their own body shapes in exactly one place (src/http/errors.ts); `cause` is kept
 * for logs. `errorCode` enumerates the codes so OpenAPI and clients can list them.
 */
export const errorRegistry = {
  invalid_request: { status: 400, message: 'invalid request' },
  invalid_cwd: { status: 400, message: 'cwd is outside the workspace roots' },
  forbidden_argument: { status: 400, message: 'argument refused by policy' },
  forbidden_env: { status: 400, message: 'environment variable refused by policy' },
  unknown_cli: { status: 400, message: 'unknown CLI' },
  unknown_agent: { status: 400, message: 'unknown agent' },
  unauthorized: { status: 401, message: 'missing or invalid bearer token' },
  forbidden: { status: 403, message: 'forbidden' },
  not_found: { status: 404, message: 'not found' },
  method_not_allowed: { status: 405, message: 'Method Not Allowed' },
  timed_out: { status: 408, message: 'run timed out' },
  request_timeout: {
    status: 408,
    message: 'the request did not arrive in time (HEADERS_TIMEOUT_SECONDS, BODY_IDLE_SECONDS)',
  },
  conflict: { status: 409, message: 'conflict' },
  body_too_large: { status: 413, message: 'request body is larger than BODY_LIMIT_BYTES allows' },
  headers_too_large: { status: 431, message: 'the request headers are larger than the server accepts' },
  unsupported_media_type: {
    status: 415,
    message: 'send the body as JSON with `content-type: application/json`',
  },
  over_capacity: { status: 429, message: 'over capacity' },
  agent_failed: { status: 500, message: 'agent failed' },
  internal: { status: 500, message: 'internal error' },
  agent_not_installed: { status: 503, message: 'agent not installed' },
  agent_not_authenticated: { status: 503, message: 'agent not authenticated' },
  shutting_down: { status: 503, message: 'server is shutting down' },
  worker_unavailable: { status: 503, message: 'no worker is available' },
  session_taken_over: { status: 503, message: 'another node took this session over' },
  outcome_unknown: {
    status: 503,
    message: 'the node acting on it stopped after it took the request: whether it was done is unknown',
  },
  storage_full: { status: 503, message: storageFullMessage() },
  store_unavailable: { status: 503, message: storeUnavailableMessage() },
  store_busy: { status: 503, message: storeBusyMessage() },
} as const satisfies Record<string, { status: number; message: string }>

export type ErrorCode = keyof typeof errorRegistry
export const errorCode = z.enum(Object.keys(errorRegistry) as [ErrorCode, ...ErrorCode[]])

/** The /v1 error body. */
export const v1ErrorBody = z.object({
  error: z.object({ code: errorCode, message: z.string(), details: z.unknown().optional() }),
})

/**
 * What a request whose write the store refused for a full disk is answered (503 storage_full): DATA_DIR's (SQLite's
 * SQLITE_FULL, ENOSPC) or the PostgreSQL server's (SQLSTATE 53100 disk_full); /health answers 503 then, with
 * `store.storageFull`.
 */
export function storageFullMessage(disk: 'data_dir' | 'postgres' = 'data_dir'): string {
  if (disk === 'postgres')
    return (
      "the gateway's store is full (its PostgreSQL server refused a write: disk_full, no space left on its disk), " +
      "so the request failed; retry once the operator has freed space on the database server's disk (GET /health " +
      'answers 503 until then)'
    )
  return (
    "the gateway's disk is full (its store, DATA_DIR, refused a write: database or disk is full), so the request " +
    'failed; retry once the operator has freed space (GET /health answers 503 until then)'
  )
}

/**
 * What a request answers when the store's PostgreSQL server cannot be reached or takes no connections now (503
 * store_unavailable): stopped, restarting (a PANIC, such as a full pg_wal, restarts it or shuts it down), or its
 * database closed to connections; /health answers 503 then, with `store.ready: false`.
 */
export function storeUnavailableMessage(): string {
  return (
    "the gateway's store is unavailable (its PostgreSQL server cannot be reached or takes no connections now: " +
    'stopped, restarting, or out of space for its WAL), so the request failed; retry ' +
    'once the database server is back (GET /health answers 503 until then)'
  )
}

/**
 * What a request answers when its write waited too long for a lock another client of the store's PostgreSQL server
 * holds (503 store_busy): PostgreSQL ended the wait (55P03 lock_not_available); the server answers, nothing was stored.
 */
export function storeBusyMessage(): string {
  return (
    "the gateway's store is busy (a row or lock this request writes is held by another client of its PostgreSQL " +
    "server, such as another node's or an operator's open transaction, longer than the gateway waits for it), so " +
    'the request failed and nothing of it was stored; the server answers: retry after Retry-After'
  )
}

/** What a node taken for dead by the cluster answers (503 worker_unavailable) until it has rejoined. */
export const notAMemberMessage = (node: string) =>
  `node ${node} was taken for dead by the cluster and takes no work until it has rejoined; retry`

/** What a node answers for a session another node took over (503 session_taken_over): this node was taken for dead. */
export const sessionTakenOverMessage = (session: string, owner: string | null) =>
  `session ${session} was taken over by ${owner ? `node ${owner}` : 'another node'} while the node that held it ` +
  'was taken for dead (stalled past NODE_TIMEOUT_SECONDS); nothing was stored: retry, the cluster places it on a live node'

/**
 * What a session's creator is told when its client-chosen id (`externalId`) belongs to another session already:
 * `sessionId` when the caller may see that session (its own tenant's).
 */
export const externalIdTakenMessage = (externalId: string, sessionId?: string) =>
  `externalId "${externalId}" is taken by ${sessionId ? `session ${sessionId}` : 'another session'}; choose another id${sessionId ? ', or continue that session' : ''}`

export class AppError extends Error {
  override name = 'AppError'
  readonly status: number
  constructor(
    readonly code: ErrorCode,
    message: string = errorRegistry[code].message,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.status = errorRegistry[code].status
  }
}

/** `found`, or a 404 saying `what` was not found (`run run_123`, `thread abc`). */
export async function orNotFound<T>(found: Promise<T | undefined>, what: string): Promise<T> {
  const value = await found
  if (value === undefined || value === null) throw new AppError('not_found', `no ${what}`)
  return value
}
