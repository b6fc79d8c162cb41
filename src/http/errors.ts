import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import {
  AppError,
  type ErrorCode,
  errorRegistry,
  storageFullMessage,
  storeBusyMessage,
  storeUnavailableMessage,
} from '../protocol/errors.js'
import { fullDisk } from '../util/disk-full.js'
import { isStoreBusy } from '../util/store-busy.js'
import { isStoreUnavailable } from '../util/store-unavailable.js'

/** Which body shape a route's errors take: the native /v1 one, or a seed system's own. */
export type ErrorShape = 'v1' | 'codex-api-plan' | 'fastapi'

declare module 'fastify' {
  interface FastifyContextConfig {
    errorShape?: ErrorShape
    /** The framework the seed's original ran on: a wrong method (405) is answered as its router answers it. */
    framework?: 'fastapi'
    /** Agent named in seed 000 error bodies (`provider`). */
    provider?: string
  }
}

/** What of the request an error names: the route's body limit (a 413), what was sent (a missing field). */
type Sent = Partial<Pick<FastifyRequest, 'body' | 'query' | 'params' | 'headers'>> & { bodyLimit?: number }

/** The one place where errors become HTTP responses. */
export function toAppError(err: unknown, sent: Sent = {}): AppError {
  if (err instanceof AppError) return err
  const e = err as FastifyError
  if (hasZodFastifySchemaValidationErrors(e)) {
    const context = e.validationContext ?? 'body'
    const issues = e.validation.map((v) => {
      const message = v.message ?? 'invalid'
      return {
        path: `${context}${v.instancePath.replaceAll('/', '.')}`.replace(/\.$/, ''),
        message: isAbsent(sentPart(sent, context), v.instancePath) ? requiredMessage(message) : message,
      }
    })
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ')
    return new AppError('invalid_request', `invalid request: ${summary}`, { issues }, { cause: err })
  }
  const byFastifyCode: Record<string, ErrorCode> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
    FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  }
  const code = e.code ? byFastifyCode[e.code] : undefined
  if (code) return new AppError(code, messageFor(code, e, sent.bodyLimit), undefined, { cause: err })
  // the store's disk is full (DATA_DIR's, or the PostgreSQL server's): no work can be stored now, not a bug (a
  // load balancer's /health takes a node whose DATA_DIR is full out)
  const full = fullDisk(err)
  if (full)
    return new AppError('storage_full', storageFullMessage(full), { retryAfterSeconds: 30 }, { cause: err })
  // the store's PostgreSQL server unreachable or not taking connections (stopped, restarting after a PANIC, its
  // database closed): nothing is wrong with the request, retry once it is back (GET /health answers 503 until then)
  if (isStoreUnavailable(err))
    return new AppError(
      'store_unavailable',
      storeUnavailableMessage(),
      { retryAfterSeconds: 5 },
      { cause: err },
    )
  // a lock another client of the store's PostgreSQL server holds (another node's or an operator's open
  // transaction): the server answers, the write was rolled back; retry once the lock is let go
  if (isStoreBusy(err))
    return new AppError('store_busy', storeBusyMessage(), { retryAfterSeconds: 5 }, { cause: err })
  if (e.statusCode === 400 || e instanceof SyntaxError)
    return new AppError('invalid_request', `malformed request: ${e.message}`, undefined, { cause: err })
  return new AppError('internal', 'internal error', undefined, { cause: err })
}

/** A 500 nobody planned for still tells the client what to do: the id finds the details in the server log. */
function withRequestId(err: AppError, requestId: string): AppError {
  if (err.code !== 'internal' || err.message !== 'internal error') return err
  return new AppError(
    'internal',
    `internal error (request ${requestId}): the gateway failed unexpectedly; retry, and if it persists report it with this request id (the server log has the cause)`,
    { requestId },
    { cause: err.cause },
  )
}

function messageFor(code: ErrorCode, e: FastifyError, bodyLimit?: number): string {
  // Fastify's parser (secure-json-parse) refuses these keys with the message of a syntax error, which a client
  // that sent valid JSON could not act on
  if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY')
    return 'malformed JSON body: it is not valid JSON, or it has a "__proto__" key or a "constructor" key holding "prototype" (refused: either could change what objects inherit); fix the JSON or rename the key'
  if (code === 'invalid_request') return `malformed JSON body: ${e.message}`
  if (code === 'body_too_large' && bodyLimit !== undefined)
    return `request body is larger than BODY_LIMIT_BYTES (${bodyLimit} bytes) allows: send a smaller body, or raise BODY_LIMIT_BYTES on the server`
  return errorRegistry[code].message
}

function sentPart(sent: Sent, context: string): unknown {
  if (context === 'body') return sent.body
  if (context === 'querystring') return sent.query
  if (context === 'params') return sent.params
  return context === 'headers' ? sent.headers : undefined
}

/** Whether the field at `instancePath` (`/a/0/b`) is absent from the object that should hold it. */
function isAbsent(sent: unknown, instancePath: string): boolean {
  const keys = instancePath.split('/').filter(Boolean)
  const last = keys.pop()
  if (last === undefined) return false
  let holder = sent
  for (const key of keys) holder = (holder as Record<string, unknown> | null | undefined)?.[key]
  return typeof holder === 'object' && holder !== null && !Array.isArray(holder) && !(last in holder)
}

/** zod's words for what a field should be, said of a field that was not sent: `required (expected string)`. */
function requiredMessage(message: string): string {
  const expected = message.replace(/^Invalid (input|option): /, '').replace(/, received undefined$/, '')
  return `required (${expected})`
}

export function errorBody(err: AppError, shape: ErrorShape, provider?: string): unknown {
  switch (shape) {
    case 'codex-api-plan':
      return { error: titleFor(err, provider), details: err.message, provider: provider ?? null }
    case 'fastapi':
      return { detail: err.message }
    default:
      return {
        error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
      }
  }
}

function titleFor(err: AppError, provider = 'agent'): string {
  switch (err.code) {
    case 'agent_not_installed':
      return `${provider} CLI is not installed`
    case 'agent_not_authenticated':
      return `${provider} CLI is not authenticated`
    case 'timed_out':
      return `${provider} timed out`
    case 'agent_failed':
      return `${provider} failed`
    case 'over_capacity':
      return `${provider} is busy`
    case 'method_not_allowed':
      return 'method not allowed'
    default:
      return statusTitles[err.status] ?? (err.status < 500 ? 'invalid request' : 'internal error')
  }
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route is found (a URL that does not decode,
 * a path parameter longer than maxParamLength) is a 400 with the /v1 envelope, not Fastify's own body (or 414).
 */
export function frameworkErrorHandler(
  err: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const message =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'a path segment is longer than the server accepts (100 characters)'
      : err.code === 'FST_ERR_BAD_URL'
        ? 'the URL does not decode (malformed percent-encoding)'
        : `malformed request: ${err.message}`
  const appError = new AppError('invalid_request', message, { fastifyCode: err.code }, { cause: err })
  reply.status(appError.status).send(errorBody(appError, 'v1'))
}

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { body, query, params, headers } = request
  const sent = { body, query, params, headers, bodyLimit: request.routeOptions.bodyLimit }
  const appError = withRequestId(toAppError(err, sent), request.id)
  if (appError.status >= 500 && appError.code === 'internal') request.log.error({ err }, 'request failed')
  // the gateway's own routes (no errorShape), and a request no route matched (refused before the 404, e.g. 401),
  // answer in the /v1 shape
  const { errorShape = 'v1', provider } = request.routeOptions.config ?? {}
  const retryAfter = (appError.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds
  if (retryAfter) reply.header('retry-after', String(retryAfter))
  reply.status(appError.status).send(errorBody(appError, errorShape, provider))
}

/** Seed 000's `error` for a status the agent did not cause: what a client shows its user, so it names the status. */
const statusTitles: Record<number, string> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  408: 'request timeout',
  409: 'conflict',
  413: 'request too large',
  415: 'unsupported media type',
  429: 'too many requests',
  503: 'service unavailable',
}
