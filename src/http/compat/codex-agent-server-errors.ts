import type { FastifyInstance } from 'fastify'
import { isAgentRequestTimeout } from '../../protocol/agent-request-timeout.js'
import { AppError } from '../../protocol/errors.js'
import { errorHandler } from '../errors.js'
import { parseThreadId } from './codex-thread-id.js'

/**
 * Seed 003's answers that the gateway's error shapes cannot say, as its original (a FastAPI bridge to one
 * `codex app-server`, app/routers/*.py) sent them: a status and a `detail` that is not always text.
 *
 * - An unknown thread: the original passed any threadId to app-server and answered app-server's JSON-RPC error
 *   as 400 `{"detail": {"code": ..., "message": ...}}` (its JsonRpcError.to_dict: `data` only when app-server
 *   sent some). The gateway knows its threads itself (another tenant's is unknown too) and answers what
 *   app-server answers for a thread it does not have, method by method (`unknownThread`).
 * - A turn that did not complete within CODEX_REQUEST_TIMEOUT: the original's turn/start answered 504 with
 *   `"Turn completion timeout after <seconds as a Python float>s"`; the turn went on, as the gateway's does.
 * - A request to app-server that got no answer in time (its JsonRpcClient.call gave up: asyncio's TimeoutError,
 *   whose text is empty): turn/start caught it with the turn's wait, the 504 above; every other route answered
 *   it as any other exception, 500 with `str(e)`: `{"detail": ""}` (`requestTimedOut`).
 */
export class SeedAnswer extends Error {
  constructor(
    readonly status: number,
    readonly detail: unknown,
  ) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail))
  }
}

/**
 * A seed route's SeedAnswer is sent as it is (`{"detail": ...}`), a codex request that timed out as the original
 * answered it (`requestTimedOut`: logged, it is a 500 or a 504); any other error goes to the gateway's handler.
 * `turnWaitSeconds` is CODEX_REQUEST_TIMEOUT, read when the answer is made.
 */
export function seedAnswers(app: FastifyInstance, turnWaitSeconds: () => number): void {
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof SeedAnswer) return reply.status(err.status).send({ detail: err.detail })
    // a timeout the gateway answered otherwise on purpose (a 503 of a cluster call, ...) keeps that answer
    const chosen = err instanceof AppError && err.status !== 500
    if (!chosen && isAgentRequestTimeout(err)) {
      request.log.error({ err }, 'request failed: codex app-server did not answer in time')
      const answer = requestTimedOut(request.routeOptions.url === '/api/turn/start', turnWaitSeconds())
      return reply.status(answer.status).send({ detail: answer.detail })
    }
    return errorHandler(err, request, reply)
  })
}

/**
 * The original's answer to a request of its to app-server that timed out: on turn/start the turn's 504 (its
 * `except asyncio.TimeoutError` held the request and the wait), elsewhere 500 with the empty text of asyncio's
 * TimeoutError.
 */
export function requestTimedOut(onTurnStart: boolean, turnWaitSeconds: number): SeedAnswer {
  return onTurnStart ? turnTimeout(turnWaitSeconds) : new SeedAnswer(500, '')
}

/** JSON-RPC's "Invalid request", the code app-server gives a thread it does not have. */
export const invalidRequest = -32600

export type ThreadMethod = 'thread/resume' | 'thread/read' | 'thread/fork' | 'turn/start'

/**
 * What app-server answers `method` for a thread id it does not have (codex 0.171's words, each method its own):
 * an id that is no UUID is refused as such (in the `uuid` crate's words, codex-thread-id.ts), a UUID it has no
 * thread for is not found.
 */
export function unknownThread(method: ThreadMethod, threadId: string): SeedAnswer {
  return new SeedAnswer(400, { code: invalidRequest, message: unknownThreadMessage(method, threadId) })
}

function unknownThreadMessage(method: ThreadMethod, threadId: string): string {
  const parsed = parseThreadId(threadId)
  const byRollout = method === 'thread/resume' || method === 'thread/fork'
  if ('error' in parsed) return `${byRollout ? 'invalid session id' : 'invalid thread id'}: ${parsed.error}`
  if (byRollout) return `no rollout found for thread id ${parsed.id}`
  return method === 'thread/read' ? `thread not loaded: ${parsed.id}` : `thread not found: ${parsed.id}`
}

/** JSON-RPC's "Method not found", which app-server gives what it does not support yet. */
export const methodNotFound = -32601

/**
 * What app-server answers thread/read with `includeTurns` of a thread with no turn in it yet (codex 0.171: it has
 * no rollout to list them from), as the original passed it on: 400 with the JSON-RPC error.
 */
export function listTurnsUnsupported(): SeedAnswer {
  return new SeedAnswer(400, { code: methodNotFound, message: 'list_turns is not supported yet' })
}

/**
 * What app-server answers thread/resume and thread/fork of an archived thread (codex 0.171's words; the thread is
 * named as codex reads its id). The gateway's archive is for good: no route unarchives.
 */
export function archivedThread(threadId: string): SeedAnswer {
  return new SeedAnswer(400, {
    code: invalidRequest,
    message: `session ${threadId} is archived. Run \`codex unarchive ${threadId}\` to unarchive it first.`,
  })
}

/**
 * A fork made (codex's thread `fork` holds `parent`'s history) whose answer, the fork with its turns, is longer
 * than the gateway reads of codex (CODEX_HISTORY_MAX_BYTES, `limit` characters): a 500 that names the fork, which
 * is there to use, so that a client neither loses it nor forks again to get it.
 */
export function unreadableFork(parent: string, fork: string, limit: number): SeedAnswer {
  return new SeedAnswer(
    500,
    `thread ${parent} was forked as thread ${fork}, but its history is longer than the gateway reads (codex app-server answered thread/read with more than ${limit} characters on one line): raise CODEX_HISTORY_MAX_BYTES to read it, or go on with thread ${fork} without its turns (/api/thread/read without includeTurns, /api/turn/start); another /api/thread/fork makes another fork`,
  )
}

/** The names serde lists when app-server refuses another: codex 0.171's AskForApproval and SandboxMode. */
const codexVariants = {
  approvalPolicy: ['untrusted', 'on-request', 'granular', 'never'],
  sandbox: ['read-only', 'workspace-write', 'danger-full-access'],
} as const

/**
 * What app-server answers for an `approvalPolicy` or `sandbox` it has no such value of (serde's words; `granular`
 * names codex's struct variant, not a policy by name), as the original answered it: 400 with the JSON-RPC error,
 * before any thread is looked up (codex reads the params first).
 */
export function unknownVariant(field: keyof typeof codexVariants, value: string): SeedAnswer {
  const message =
    field === 'approvalPolicy' && value === 'granular'
      ? 'invalid type: unit variant, expected struct variant'
      : `unknown variant \`${value}\`, expected one of ${codexVariants[field].map((v) => `\`${v}\``).join(', ')}`
  return new SeedAnswer(400, { code: invalidRequest, message: `Invalid request: ${message}` })
}

/** The original's 504 for a turn not completed within `seconds` (its setting was a float: `300.0`). */
export function turnTimeout(seconds: number): SeedAnswer {
  const python = Number.isInteger(seconds) ? `${seconds}.0` : String(seconds)
  return new SeedAnswer(504, `Turn completion timeout after ${python}s`)
}
