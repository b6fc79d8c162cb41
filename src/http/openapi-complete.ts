import { AppError, type ErrorCode, errorRegistry } from '../protocol/errors.js'
import { type ErrorShape, errorBody } from './errors.js'
import { type OperationDoc, operationDocs, tagDocs } from './openapi-operations.js'

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
  plain: {
    schema: 'PlainError',
    prefix: 'PlainError',
    json: {
      type: 'object',
      description: 'The error body of the seed 001 and 002 routes.',
      properties: {
        error: { type: 'string' },
        code: { $ref: '#/components/schemas/ErrorCode' },
        details: {},
      },
      required: ['error', 'code'],
    },
  },
  fastapi: {
    schema: 'FastApiError',
    prefix: 'FastApiError',
    json: {
      type: 'object',
      description: "Seed 003's (FastAPI's) error body.",
      properties: { detail: { type: 'string' } },
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
  forbidden: 'this token may not do that',
  not_found: 'no run run_01JD4Z8Q6N7W3V2K5M9P0R1S2T',
  timed_out:
    'the agent did not finish within TIMEOUT_SECONDS=300s; its process group was ended. Raise TIMEOUT_SECONDS for longer tasks.',
  conflict: 'the run already finished (succeeded)',
  body_too_large: 'request body is larger than BODY_LIMIT_BYTES allows',
  unsupported_media_type: 'send the body as application/json',
  over_capacity: 'too many runs queued (MAX_QUEUED_RUNS=100); retry later',
  agent_failed: 'the agent failed (exit code 1): model request failed',
  internal: 'internal error',
  agent_not_installed: 'codex is not installed: npm install @openai/codex',
  agent_not_authenticated: 'codex has no credentials: set CODEX_API_KEY or run `codex login`',
  shutting_down: 'the server is shutting down; retry against a running server',
  worker_unavailable:
    'the node holding it (node_01JD4Z8Q6N7W3V2K5M9P0R1S2T) stopped while handling session.turn; retry',
}

const reasons: Record<number, string> = {
  400: 'Invalid input',
  401: 'Missing or wrong bearer token (when API_TOKENS is set)',
  403: 'Forbidden',
  404: 'No such resource',
  408: 'The agent did not finish in time',
  409: 'Conflict with the current state',
  413: 'Body too large',
  415: 'Unsupported media type',
  429: 'Over capacity (see Retry-After)',
  500: 'The agent failed',
  503: 'The agent is not installed or not authenticated, or the server is shutting down',
}

const streamMedia = { sse: 'text/event-stream', ndjson: 'application/x-ndjson' }

/**
 * Completes the generated document: every operation gets its tag, summary, examples, named request and
 * response schemas, a description of its stream, and its error responses as named components (one example per
 * error code, made by the same `errorBody` the server answers with). Events, items and error codes are named
 * components too. Only the document changes; what routes validate and send stays as their schemas say.
 */
export function completeDocument(doc: Json): Json {
  doc.components = { schemas: {}, responses: {}, ...doc.components }
  const schemas: Json = doc.components.schemas
  const responses: Json = doc.components.responses
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
  schemas.StoredEvent = {
    description: 'An event as stored and sent: one AgentEvent plus seq (the SSE id), time and owner.',
    allOf: [{ $ref: '#/components/schemas/AgentEvent' }, { $ref: '#/components/schemas/StoredEventMeta' }],
  }
  schemas.CliFrame = {
    description: "One NDJSON frame of POST /run: the CLI's output, then its exit code.",
    oneOf: [
      {
        type: 'object',
        properties: { type: { enum: ['stdout', 'stderr'] }, data: { type: 'string' } },
        required: ['type', 'data'],
      },
      {
        type: 'object',
        properties: { type: { const: 'exit' }, code: { type: 'integer' } },
        required: ['type', 'code'],
      },
    ],
  }
  schemas.CodexEvent = {
    type: 'object',
    description: "One of codex's own JSONL events (`codex exec --json`), verbatim.",
    properties: { type: { type: 'string' } },
    required: ['type'],
    additionalProperties: true,
  }

  const errorResponse = (shape: ErrorShape, status: number) => {
    const { schema, prefix } = shapes[shape]
    const name = `${prefix}${status}`
    if (!responses[name]) {
      const codes = (Object.keys(errorRegistry) as ErrorCode[]).filter(
        (c) => errorRegistry[c].status === status,
      )
      const examples: Json = {}
      for (const code of codes)
        examples[code] = {
          summary: code,
          value: errorBody(new AppError(code, exampleMessages[code]), shape, 'codex'),
        }
      responses[name] = {
        description: reasons[status] ?? `HTTP ${status}`,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` }, examples } },
      }
    }
    return { $ref: `#/components/responses/${name}` }
  }
  const name = (media: Json | undefined, as: string | undefined) => {
    if (!media?.schema || !as || media.schema.$ref) return
    schemas[as] ??= media.schema
    media.schema = { $ref: `#/components/schemas/${as}` }
  }

  for (const [path, operations] of Object.entries<Json>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<Json>(operations)) {
      const d: OperationDoc | undefined = operationDocs[`${method.toUpperCase()} ${path}`]
      if (!d) continue
      op.tags = [d.tag]
      op.summary ??= d.summary
      op.operationId ??= operationId(method, path)
      const body = op.requestBody?.content?.['application/json']
      if (body) {
        name(body, d.request)
        if (d.requestExample !== undefined) body.example = d.requestExample
      }
      completeSuccess(op, d, name, schemas)
      for (const status of Object.keys(op.responses ?? {}))
        if (Number(status) >= 400) delete op.responses[status]
      const shape = d.errorShape ?? 'v1'
      const statuses = path === '/health' ? d.errors : [401, ...d.errors]
      for (const status of statuses) op.responses[status] = errorResponse(shape, status)
    }
  }
  doc.tags = tagDocs
  dropDuplicateInputs(doc)
  return doc
}

function completeSuccess(
  op: Json,
  d: OperationDoc,
  name: (m: Json | undefined, as?: string) => void,
  schemas: Json,
): void {
  op.responses ??= {}
  const eventStream = (description: string) => ({
    description,
    content: {
      [streamMedia.sse]: {
        schema: { $ref: '#/components/schemas/StoredEvent' },
        example: `id: ${(d.responseExample as Json).seq}\nevent: ${(d.responseExample as Json).type}\ndata: ${JSON.stringify(d.responseExample)}\n\n`,
      },
      [streamMedia.ndjson]: {
        schema: { $ref: '#/components/schemas/StoredEvent' },
        example: d.responseExample,
      },
    },
  })
  switch (d.stream) {
    case 'events':
      op.responses[200] = eventStream(
        'Server-Sent Events (default): `id:` = seq, `event:` = type, `data:` = the StoredEvent as JSON, `: keep-alive` comments; or NDJSON (Accept: application/x-ndjson), one StoredEvent per line. Replays from Last-Event-ID or ?after=, then follows live.',
      )
      return
    case 'codex-sse':
      op.responses[200] = {
        description:
          "Server-Sent Events: one `data:` line per codex JSONL event, verbatim, until codex exits; `{type: 'error', message}` when it was ended early.",
        content: {
          [streamMedia.sse]: {
            schema: { $ref: '#/components/schemas/CodexEvent' },
            example: `data: ${JSON.stringify(d.responseExample)}\n\n`,
          },
        },
      }
      return
    case 'cli-ndjson':
      op.responses[200] = {
        description:
          'NDJSON: `{type: stdout|stderr, data}` frames as the CLI writes, then `{type: exit, code}` (124 after RUN_RESPONSE_TIMEOUT_SECONDS).',
        content: {
          [streamMedia.ndjson]: {
            schema: { $ref: '#/components/schemas/CliFrame' },
            example: d.responseExample,
          },
        },
      }
      return
    case 'approvals-sse':
      op.responses[200] = {
        description:
          'Server-Sent Events: `event: approvals`, `data:` = every pending approval ({approvals: [...]}), sent at once, whenever one is requested or answered, and at least every 10 s; `: keep-alive` comments.',
        content: {
          [streamMedia.sse]: {
            schema: { $ref: '#/components/schemas/ApprovalList' },
            example: `event: approvals\ndata: ${JSON.stringify(d.responseExample)}\n\n`,
          },
        },
      }
      return
    case 'text':
      op.responses[200] = {
        description: 'The text, as text/plain.',
        content: { 'text/plain': { schema: { type: 'string' }, example: d.responseExample } },
      }
      return
  }
  let found = false
  for (const status of ['200', '201', '202']) {
    const media = op.responses[status]?.content?.['application/json']
    if (!media) continue
    found = true
    name(media, d.response)
    media.example = d.responseExample
    op.responses[status].description = status === '202' ? 'Accepted' : status === '201' ? 'Created' : 'OK'
  }
  if (!found && d.response) {
    op.responses[200] = {
      description: 'OK',
      content: {
        'application/json': {
          schema: { $ref: `#/components/schemas/${d.response}` },
          example: d.responseExample,
        },
      },
    }
    schemas[d.response] ??= d.responseSchema ?? {
      type: 'object',
      additionalProperties: true,
      description: "app-server's own answer, passed through as it is.",
    }
  }
  // POST /v1/runs and POST /v1/sessions/{id}/turns also stream when asked with Accept.
  if (op.description?.includes('text/event-stream') && op.responses[200]) {
    const streamed = eventStream('')
    op.responses[200].content = { ...op.responses[200].content, ...streamed.content }
    op.responses[200].content[streamMedia.sse].example =
      'id: 1\nevent: run.queued\ndata: {"type":"run.queued","seq":1,"at":"2026-12-01T12:00:00.000Z","runId":"run_01JD4Z8Q6N7W3V2K5M9P0R1S2T"}\n\n'
    op.responses[200].content[streamMedia.ndjson].example = {
      type: 'run.queued',
      seq: 1,
      at: '2026-12-01T12:00:00.000Z',
      runId: 'run_01JD4Z8Q6N7W3V2K5M9P0R1S2T',
    }
  }
}

/** `POST /v1/runs/{id}/cancel` -> `postV1RunsIdCancel`. */
function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean)
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')
}

/** The zod provider names an input twin (`RunInput`) of every named schema; keep one where they are equal. */
function dropDuplicateInputs(doc: Json): void {
  const schemas: Json = doc.components.schemas
  const renames = new Map<string, string>()
  for (const key of Object.keys(schemas))
    if (key.endsWith('Input') && schemas[key.slice(0, -5)] !== undefined) renames.set(key, key.slice(0, -5))
  // Compare with the refs already renamed, so nested twins (RunListInput -> RunInput) count as equal.
  const rename = (text: string) =>
    text.replace(/#\/components\/schemas\/([A-Za-z0-9]+Input)"/g, (m, n) =>
      renames.has(n) ? `#/components/schemas/${renames.get(n)}"` : m,
    )
  // Outputs also say `additionalProperties: false`; otherwise the twins are the same shape.
  const shape = (schema: Json) =>
    rename(JSON.stringify(schema)).replaceAll(',"additionalProperties":false', '')
  for (const [input, output] of [...renames])
    if (shape(schemas[input]) !== shape(schemas[output])) renames.delete(input)
  for (const input of renames.keys()) delete schemas[input]
  const text = rename(JSON.stringify(doc))
  Object.assign(doc, JSON.parse(text))
}
