import {
  AppError,
  type ErrorCode,
  errorRegistry,
  notAMemberMessage,
  sessionTakenOverMessage,
  storageFullMessage,
  storeBusyMessage,
  storeUnavailableMessage,
} from '../protocol/errors.js'
import { type ErrorShape, errorBody } from './errors.js'

// biome-ignore lint/suspicious/noExplicitAny: a JSON document walked by key
type Json = Record<string, any>

/** The error body schema of each shape, and the name of its components (`V1Error404`, `PlainError400`, ...). */
const shapes: Record<ErrorShape, { schema: string; prefix: string; json: Json }> = {
  v1: { schema: 'Error', prefix: 'V1Error', json: {} },
  'codex-api-plan': {
    schema: 'ApiPlanError',
    prefix: 'ApiPlanError',
    json: {
      type: 'object',
      description: "Seed 000's error body: a title, what happened, and the agent (AI_PROVIDER).",
      properties: {
        error: { type: 'string' },
        details: { type: 'string' },
        provider: { type: ['string', 'null'] },
      },
      required: ['error', 'details', 'provider'],
    },
  },
  fastapi: {
    schema: 'FastApiError',
    prefix: 'FastApiError',
    json: {
      type: 'object',
      description: "Seeds 001's, 002's and 003's (FastAPI's) error body.",
      properties: {
        detail: {
          oneOf: [
            { type: 'string' },
            {
              type: 'object',
              description:
                "Seed 003's 400 for what app-server refuses (an unknown thread): app-server's JSON-RPC error, as " +
                'its original passed it on (`data` only when there is some)',
              properties: { code: { type: 'integer' }, message: { type: 'string' }, data: {} },
              required: ['code', 'message'],
            },
          ],
        },
      },
      required: ['detail'],
    },
  },
}

/** What each error code means, as its example message says. */
const exampleMessages: Record<ErrorCode, string> = {
  invalid_request: 'invalid request: body.prompt: Too small: expected string to have >=1 characters',
  invalid_cwd: 'cwd "/etc" is outside the workspace roots (/srv/agent-gateway/workspaces)',
  forbidden_argument:
    'argument "--dangerously-bypass-approvals-and-sandbox" is refused; set RUN_ALLOW_UNSAFE_ARGS=true to allow it',
  forbidden_env: 'env LD_PRELOAD is refused; RUN_ALLOW_ENV lists the names allowed',
  unknown_cli: 'cli "rm" is not allowed; CLI_LIST allows: codex',
  unknown_agent: 'unknown agent "foo"; GET /v1/agents lists the agents',
  unauthorized: 'missing bearer token: send `Authorization: Bearer <token>`',
  forbidden: 'token "ci" lacks the "run" scope this request needs',
  not_found: 'no run run_01JD4Z8Q6N7W3V2K5M9P0R1S2T',
  method_not_allowed:
    'DELETE is not a method of /v1/runs: it takes GET, HEAD, POST (the routes are listed at /docs)',
  timed_out:
    'the agent did not finish within TIMEOUT_SECONDS=300s; its process group was ended. Raise TIMEOUT_SECONDS for longer tasks.',
  request_timeout: 'the request head did not arrive within 30 s (HEADERS_TIMEOUT_SECONDS)',
  conflict: 'the run already finished (succeeded)',
  body_too_large:
    'request body is larger than BODY_LIMIT_BYTES (1048576 bytes) allows: send a smaller body, or raise BODY_LIMIT_BYTES on the server',
  headers_too_large: 'the request headers are larger than the server accepts',
  unsupported_media_type: 'send the body as JSON with `content-type: application/json`, not text/plain',
  over_capacity: 'too many runs queued (MAX_QUEUED_RUNS=100); retry later',
  agent_failed: 'the agent failed (exit code 1): model request failed',
  internal: 'internal error',
  agent_not_installed: 'codex is not installed: npm install @openai/codex',
  agent_not_authenticated: 'codex has no credentials: set CODEX_API_KEY or run `codex login`',
  shutting_down: 'the server is shutting down; retry against a running server',
  worker_unavailable:
    'the node holding it (node_01JD4Z8Q6N7W3V2K5M9P0R1S2T) stopped while handling session.turn; retry',
  storage_full: storageFullMessage(),
  store_unavailable: storeUnavailableMessage(),
  store_busy: storeBusyMessage(),
  outcome_unknown:
    'the node holding session ses_01JD4Z8Q6N7W3V2K5M9P0R1S2T (node_01JD4Z8Q6N7W3V2K5M9P0R1S2V) stopped after it ' +
    'took session.turn: whether it was done is unknown, so it was not sent again. The session was taken over; ' +
    'read its turns (GET /v1/sessions/ses_01JD4Z8Q6N7W3V2K5M9P0R1S2T, a turn it started is failed) or its events ' +
    'before you send it again',
  session_taken_over: sessionTakenOverMessage(
    'ses_01JD4Z8Q6N7W3V2K5M9P0R1S2T',
    'node_01JD4Z8Q6N7W3V2K5M9P0R1S2V',
  ),
}

/** Other causes of a code, each a further example (named `<code>_<cause>`): what happened and what to do. */
const moreExamples: Partial<Record<ErrorCode, { cause: string; message: string; description: string }[]>> = {
  forbidden: [
    {
      cause: 'origin',
      message:
        'refused: Origin "https://example.com" is not this gateway\'s own. Without API_TOKENS a page of another ' +
        'origin must not drive the agents; set API_TOKENS to serve other origins',
      description:
        "Without API_TOKENS (a loopback gateway) a request whose Origin is not the gateway's own, or whose " +
        'Sec-Fetch-Site says another site sent it, or whose Host is a DNS name other than localhost: a web page in ' +
        'a browser on this machine must not drive the agents (src/http/browser-origin.ts).',
    },
  ],
  request_timeout: [
    {
      cause: 'body_idle',
      message: 'no byte of the request body arrived for 20 s (BODY_IDLE_SECONDS)',
      description:
        'The request body stalled: no byte for BODY_IDLE_SECONDS. Nothing was started; the connection is closed ' +
        '(on HTTP/2 only the stream). Send the body without pauses and retry.',
    },
    {
      cause: 'body_slow',
      message: 'the request body arrived slower than 500 bytes per second (BODY_MIN_BYTES_PER_SECOND)',
      description:
        'The request body came slower than BODY_MIN_BYTES_PER_SECOND on average after its first ' +
        'BODY_IDLE_SECONDS. Nothing was started; the connection is closed (on HTTP/2 only the stream).',
    },
  ],
  conflict: [
    {
      cause: 'idempotency_key_reused',
      message:
        "Idempotency-Key 'order-42' was used for another request (run run_01JD4Z8Q6N7W3V2K5M9P0R1S2T) with another body: use a new key for a new request",
      description:
        'POST /v1/runs, POST /v1/sessions, POST /v1/sessions/{id}/turns: the Idempotency-Key was used (by this ' +
        'tenant, within IDEMPOTENCY_KEY_TTL) with another body, on another route or for another session; ' +
        '`details.reason` is `idempotency_key_reused`, `details.runId` (or `details.sessionId`, `details.turnId`) ' +
        'what it made. Use a new key.',
    },
    {
      cause: 'idempotency_key_in_use',
      message: "a request with Idempotency-Key 'order-42' is still being answered: retry it shortly",
      description:
        'POST /v1/runs, POST /v1/sessions, POST /v1/sessions/{id}/turns: an earlier request with the same key ' +
        'and body has not stored its run, session or turn yet (`details.reason` `idempotency_key_in_use`). Retry ' +
        'after Retry-After: the retry answers what it made, or, ' +
        'when that request failed without storing it (its store unreachable), makes it.',
    },
  ],
  worker_unavailable: [
    {
      cause: 'rejoining',
      message: notAMemberMessage('node_01JD4Z8Q6N7W3V2K5M9P0R1S2T'),
      description:
        'The node that took the request was taken for dead by the cluster (no heartbeat for NODE_TIMEOUT_SECONDS, ' +
        'e.g. a stall) and takes no work until it has let go of what was taken over and rejoined, within a few ' +
        'seconds. Nothing was stored or started. Retry after Retry-After, on this node or another.',
    },
  ],
}

/** Answers of a shape no error code makes (http/compat/codex-agent-server-errors.ts), by status. */
const shapeExamples: Partial<Record<ErrorShape, Record<number, Json>>> = {
  fastapi: {
    400: {
      app_server_error: {
        summary: 'unknown thread (seed 003)',
        description:
          "A thread this gateway (this tenant) does not have: app-server's error for it, as seed 003's original " +
          'answered it (400, `detail` an object).',
        value: {
          detail: { code: -32600, message: 'thread not found: 0199a0b0-1111-7222-8333-444455556666' },
        },
      },
      app_server_archived: {
        summary: 'archived thread (seed 003)',
        description:
          "A thread archived (POST /v1/sessions/:id/archive): resume and fork answer app-server's refusal, turn/start " +
          "its `thread not found`; read still reads it. The gateway's archive is for good.",
        value: {
          detail: {
            code: -32600,
            message:
              'session 0199a0b0-1111-7222-8333-444455556666 is archived. Run `codex unarchive 0199a0b0-1111-7222-8333-444455556666` to unarchive it first.',
          },
        },
      },
    },
    500: {
      app_server_timeout: {
        summary: 'codex did not answer in time (seed 003)',
        description:
          'A request to codex app-server got no answer within CODEX_REQUEST_TIMEOUT seconds: an empty `detail`, as ' +
          "seed 003's original answered its asyncio TimeoutError (the server log has the request id and the cause). " +
          'On /api/turn/start it is the 504 instead.',
        value: { detail: '' },
      },
    },
    504: {
      turn_timeout: {
        summary: 'turn not done in time (seed 003)',
        description:
          "The turn did not complete within CODEX_REQUEST_TIMEOUT seconds (seed 003's original's words); it goes " +
          'on: read the thread later (`/api/thread/read`), or follow its session on /v1.',
        value: { detail: 'Turn completion timeout after 300.0s' },
      },
    },
  },
}

const reasons: Record<number, string> = {
  400: 'Invalid input',
  401: 'Missing or wrong bearer token (when API_TOKENS is set)',
  403:
    'Forbidden: the bearer token lacks the scope the operation needs (`read`, `run` or `approve`, when API_TOKENS ' +
    'is set), or, without API_TOKENS, a browser request from another origin or site, or addressed by a DNS name ' +
    'other than localhost',
  404: 'No such resource',
  408:
    'Too slow: the agent did not finish in time (`timed_out`: a synchronous endpoint waited TIMEOUT_SECONDS), or ' +
    'the request did not arrive in time (`request_timeout`: its head not within HEADERS_TIMEOUT_SECONDS, or its ' +
    'body stalled for BODY_IDLE_SECONDS or came slower than BODY_MIN_BYTES_PER_SECOND; the connection is closed)',
  409:
    'Conflict with the current state; on POST /v1/runs, POST /v1/sessions and POST /v1/sessions/{id}/turns an Idempotency-Key used with another body, or still in use ' +
    'by a request being answered (see Retry-After)',
  413: 'Body too large',
  415: 'Unsupported media type',
  429: 'Over capacity (see Retry-After)',
  500: 'The agent failed',
  504: 'The turn did not complete in time (seed 003: CODEX_REQUEST_TIMEOUT); it goes on',
  503:
    'Unavailable: the agent is not installed or not authenticated (fix the server), the server is shutting down ' +
    '(retry against a running node), or no worker can take it now (`worker_unavailable`: the node holding the ' +
    'session stopped, no worker runs, or the node that took the request was taken for dead by the cluster and ' +
    'takes no work until it has rejoined, within seconds), or another node took the session over while this one ' +
    'was taken for dead (`session_taken_over`: its write was refused, nothing stored), or the disk of its store ' +
    'is full (`storage_full`: nothing stored), or its PostgreSQL server cannot be reached or takes no ' +
    'connections now (`store_unavailable`: stopped, restarting, hanging), or a lock its write needs is held by ' +
    "another client of that server (`store_busy`: another node's or an operator's open transaction; nothing " +
    'stored); retry after Retry-After, on this node or another. Except ' +
    '`outcome_unknown`: the node holding the session died after it took this request, so it may have been done; ' +
    "read the session's turns or events before sending it again",
}

/** The error code enum and the error body schema of every shape, as named components. */
export function addErrorSchemas(schemas: Json): void {
  schemas.ErrorCode = {
    type: 'string',
    enum: Object.keys(errorRegistry),
    description: `Error codes and their HTTP status: ${Object.entries(errorRegistry)
      .map(([code, { status }]) => `${code} ${status}`)
      .join(', ')}.`,
  }
  if (schemas.Error?.properties?.error?.properties)
    schemas.Error.properties.error.properties.code = { $ref: '#/components/schemas/ErrorCode' }
  for (const shape of Object.values(shapes)) if (shape.schema !== 'Error') schemas[shape.schema] = shape.json
}

/**
 * The named response (`V1Error404`, ...) of an error status in a shape, added to `responses` on first use: one
 * example per error code of that status, made by the same `errorBody` the server answers with. Its $ref.
 */
export function errorResponse(responses: Json, shape: ErrorShape, status: number): Json {
  const { schema, prefix } = shapes[shape]
  const name = `${prefix}${status}`
  if (!responses[name]) {
    const codes = (Object.keys(errorRegistry) as ErrorCode[]).filter(
      (c) => errorRegistry[c].status === status,
    )
    const examples: Json = {}
    for (const code of codes) {
      examples[code] = {
        summary: code,
        value: errorBody(new AppError(code, exampleMessages[code]), shape, 'codex'),
      }
      for (const more of moreExamples[code] ?? [])
        examples[`${code}_${more.cause}`] = {
          summary: `${code} (${more.cause})`,
          description: more.description,
          value: errorBody(new AppError(code, more.message), shape, 'codex'),
        }
    }
    Object.assign(examples, shapeExamples[shape]?.[status])
    responses[name] = {
      description: reasons[status] ?? `HTTP ${status}`,
      content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` }, examples } },
    }
  }
  return { $ref: `#/components/responses/${name}` }
}

/**
 * FastAPI's 422 and its schema, named as FastAPI named it (`HTTPValidationError`): what the seed's pydantic model
 * refused, error by error (http/compat/fastapi-body.ts). Added on first use; the response's $ref.
 */
export function fastapiValidationResponse(responses: Json, schemas: Json): Json {
  schemas.HTTPValidationError ??= {
    type: 'object',
    description: "FastAPI's validation error: pydantic's errors (FastAPI left out their `url`).",
    properties: {
      detail: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            loc: { type: 'array', items: { type: ['string', 'integer'] } },
            msg: { type: 'string' },
            input: {},
            ctx: { type: 'object' },
          },
          required: ['type', 'loc', 'msg', 'input'],
        },
      },
    },
    required: ['detail'],
  }
  responses.FastApiValidationError ??= {
    description: "Validation error, as FastAPI answered it: the body is not JSON, or not the seed's model",
    content: {
      'application/json': {
        schema: { $ref: '#/components/schemas/HTTPValidationError' },
        examples: {
          missing: {
            summary: 'a required field missing',
            value: {
              detail: [{ type: 'missing', loc: ['body', 'prompt'], msg: 'Field required', input: {} }],
            },
          },
          json_invalid: {
            summary: 'a body that is not JSON',
            value: {
              detail: [
                {
                  type: 'json_invalid',
                  loc: ['body', 12],
                  msg: 'JSON decode error',
                  input: {},
                  ctx: { error: "Expecting ',' delimiter" },
                },
              ],
            },
          },
        },
      },
    },
  }
  return { $ref: '#/components/responses/FastApiValidationError' }
}
