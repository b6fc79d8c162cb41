/**
 * What the OpenAPI document says about each operation beyond what its route's zod schemas give: tags,
 * summaries for the seed routes, a named request/response, examples, the error statuses it answers, and what
 * its stream carries. `src/http/openapi-complete.ts` applies it; a test fails when an operation is missing here.
 */
import type { ErrorShape } from './errors.js'
import {
  approvalExample,
  eventExample,
  runExample,
  sessionExample,
  threadExample,
  turnExample,
} from './openapi-examples.js'
import { agentStreamFrames } from './openapi-stream-frames.js'

export interface OperationDoc {
  tag: string
  summary?: string
  /** Names for the inline request body and 2xx response schemas (they become components). */
  request?: string
  response?: string
  requestExample?: unknown
  /** The JSON Schema of the success answer, for routes whose zod schemas do not declare it. */
  responseSchema?: Record<string, unknown>
  /** An example of the success answer (for streams: of one event or frame). */
  responseExample: unknown
  /** Error statuses the operation answers besides 401 and 403 (which every protected operation may answer). */
  errors: number[]
  /** A streamed answer: SSE of stored events, NDJSON of stored events, seed 002's SSE, seed 001's NDJSON frames, text. */
  stream?: 'events' | 'codex-sse' | 'cli-ndjson' | 'text' | 'approvals-sse'
  /** The body shape of its errors (default by path: /v1 -> v1). */
  errorShape?: ErrorShape
  /** Its body is read and checked as FastAPI did (http/compat/fastapi-body.ts, seeds 002 and 003): 422 with pydantic's errors, no 415. */
  fastapiBody?: true
  /** A 503 answered with the success schema (GET /health while the store is not ready): its description. */
  unready?: string
}

export const tagDocs = [
  { name: 'runs', description: 'Durable one-shot runs with replayable event streams (the native /v1 API).' },
  {
    name: 'sessions',
    description: 'Sessions (agent threads) with turns, interrupt, fork, archive and live events.',
  },
  {
    name: 'approvals',
    description: 'What agents asked permission for, answered by any client; the first answer wins.',
  },
  { name: 'agents', description: 'The agents this gateway runs, their state, capabilities and models.' },
  {
    name: 'webhooks',
    description: "Verifying webhook deliveries: a tenant's deliveries are signed with a key of its own.",
  },
  {
    name: 'health',
    description:
      'Liveness and readiness; open without a token (with API_TOKENS set, the full report takes an untenanted one).',
  },
  {
    name: 'seed 000: codex api plan',
    description: '`/hello` and `/chat` as the original plan specified them.',
  },
  {
    name: 'seed 001: codex.serve',
    description: '`/run`, `/clis`, `/models` as the Gerrit plugin calls them.',
  },
  {
    name: 'seed 002: codex streaming',
    description: "`/api/codex/*` with codex's own JSONL events, as the FastAPI wrapper served them.",
  },
  {
    name: 'seed 003: codex agent server',
    description: "`/api/thread/*`, `/api/turn/start`, `/api/skills/*` with app-server's shapes.",
  },
  {
    name: 'seed 004: agent stream',
    description:
      'The bidirectional agent stream: `POST /agent/stream` over HTTP/2 (NDJSON or length-prefixed JSON frames) and the same frames over WebSocket at `/agent/ws`. Protocol: docs/agent-stream.md.',
  },
]

const countedList = (key: string) => ({
  type: 'object',
  properties: { [key]: { type: 'array', items: { type: 'string' } }, count: { type: 'integer' } },
  required: [key, 'count'],
})

const v1Events = {
  tag: 'runs',
  responseExample: eventExample,
  errors: [400, 404],
  stream: 'events' as const,
}
const v1Session = { tag: 'sessions', responseExample: sessionExample }
/** Seed 003's thread operations that take a thread id and answer the thread. */
const threadById = {
  tag: 'seed 003: codex agent server',
  request: 'ThreadIdRequest',
  response: 'ThreadResponse',
  requestExample: { threadId: threadExample.thread.id },
  responseExample: threadExample,
  // an unknown or archived thread, or a resume or fork of one with no turn in it yet, is a 400 (app-server's
  // error, as the original answered it); a codex request that timed out its 500; 409 one being archived meanwhile
  errors: [400, 409, 500, 503],
  errorShape: 'fastapi',
  fastapiBody: true,
} satisfies Omit<OperationDoc, 'summary'>
/** GET /health's fields beyond the seeds' three. */
const fullReportOnly =
  'Only in the full report: without API_TOKENS, or to an untenanted token (not to a request without one, nor to a ' +
  "tenant's token)."
export const operationDocs: Record<string, OperationDoc> = {
  'GET /health': {
    tag: 'health',
    summary: 'Liveness and readiness: agents, store, runs',
    response: 'Health',
    responseSchema: {
      type: 'object',
      description:
        "Open without a token. With API_TOKENS set, a request without one, or with a tenant's token, gets `status`, " +
        '`service` and `codex_alive` only; an untenanted token gets the full report (a wrong token: 401). Without ' +
        'API_TOKENS, everyone gets the full report.',
      properties: {
        status: {
          enum: ['healthy', 'unhealthy'],
          description:
            '`unhealthy` (answered 503) while the store does not answer, its disk is full (`store.storageFull`) or ' +
            'DATA_DIR is not writable.',
        },
        service: {
          const: 'codex-streaming-api',
          description: "seed 002's own /health named its service so; kept for its clients.",
        },
        codex_alive: {
          type: 'boolean',
          description:
            "seed 003's original said whether its codex app-server process ran; here whether codex's probe found " +
            'it installed (false while the probe is still `checking`; whether it is signed in: `agents[]`).',
        },
        agents: {
          type: 'array',
          description: fullReportOnly,
          items: {
            type: 'object',
            description:
              'An agent as its probe last found it. /health never waits for a probe: one still running ' +
              '(right after start) is `checking`, with installed, authenticated and version null until it answers.',
            properties: {
              id: { type: 'string' },
              state: { enum: ['checking', 'ready', 'not_installed', 'not_authenticated'] },
              installed: { type: ['boolean', 'null'] },
              authenticated: { type: ['boolean', 'null'] },
              version: { type: ['string', 'null'] },
            },
            required: ['id', 'state', 'installed', 'authenticated', 'version'],
          },
        },
        store: {
          type: 'object',
          description: fullReportOnly,
          properties: {
            kind: { type: 'string' },
            ready: { type: 'boolean' },
            dataDirWritable: { type: 'boolean' },
            storageFull: {
              type: 'boolean',
              description:
                "The store's disk is full: its writes are refused (503 `storage_full`). SQLite: DATA_DIR's disk, " +
                'probed on every check. PostgreSQL: the server refused a write for a full disk (SQLSTATE 53100) and ' +
                'a probe write, made only then, still is; cleared by the probe or a later write that takes room.',
            },
          },
        },
        runs: {
          type: 'object',
          description: `Runs running and queued on this node, every tenant's. ${fullReportOnly}`,
          additionalProperties: { type: 'integer' },
        },
        containers: {
          type: ['object', 'null'],
          description: `The container engine, as \`GET /v1/agents\` reports it (null: no CONTAINER_IMAGE). ${fullReportOnly}`,
          additionalProperties: true,
        },
      },
      required: ['status', 'service', 'codex_alive'],
    },
    responseExample: {
      status: 'healthy',
      service: 'codex-streaming-api',
      codex_alive: true,
      agents: [{ id: 'codex', state: 'ready', installed: true, authenticated: true, version: '0.171.0' }],
      store: { kind: 'sqlite', ready: true, dataDirWritable: true, storageFull: false },
      runs: { running: 0, queued: 0 },
      containers: null,
    },
    errors: [],
    unready:
      'Unhealthy: the store did not answer within 2 s (a PostgreSQL server down or refusing connections), its ' +
      'disk is full (`store.storageFull`) or DATA_DIR is not writable. The same body, `status: "unhealthy"`.',
  },
  'GET /v1/agents': {
    tag: 'agents',
    response: 'AgentList',
    responseExample: {
      default: 'codex',
      agents: [
        {
          id: 'codex',
          installed: true,
          version: '0.171.0',
          authenticated: true,
          hint: null,
          capabilities: {
            sessions: true,
            approvals: true,
            fork: true,
            interrupt: true,
            steer: true,
            images: true,
            outputSchema: true,
            turnOutputSchema: true,
          },
          approvalPolicies: ['untrusted', 'on-request', 'on-failure', 'never'],
          skills: null,
        },
      ],
    },
    errors: [],
  },
  'GET /v1/models': {
    tag: 'agents',
    response: 'ModelList',
    responseExample: { agent: 'codex', models: ['gpt-5.5', 'gpt-5.5-mini'] },
    errors: [400],
  },
  'POST /v1/runs': {
    tag: 'runs',
    request: 'CreateRunRequest',
    requestExample: { prompt: 'List the files', agent: 'codex', sandbox: 'read-only' },
    responseExample: runExample,
    errors: [400, 408, 413, 429, 503],
  },
  'GET /v1/runs': {
    tag: 'runs',
    responseExample: { runs: [runExample], nextCursor: null },
    errors: [400],
  },
  'GET /v1/runs/{id}': { tag: 'runs', responseExample: runExample, errors: [404] },
  'GET /v1/runs/{id}/events': v1Events,
  'POST /v1/runs/{id}/cancel': {
    tag: 'runs',
    responseExample: {
      ...runExample,
      status: 'cancelled',
      exitCode: null,
      signal: 'SIGTERM',
      reason: 'cancelled',
    },
    errors: [404, 409],
  },
  'POST /v1/sessions': {
    ...v1Session,
    request: 'CreateSessionRequest',
    requestExample: { agent: 'codex', sandbox: 'workspace-write', approvalPolicy: 'untrusted' },
    errors: [400, 409, 429, 503],
  },
  'GET /v1/sessions': {
    tag: 'sessions',
    response: 'SessionList',
    responseExample: { sessions: [sessionExample], nextCursor: null },
    errors: [400],
  },
  'GET /v1/sessions/{id}': {
    tag: 'sessions',
    response: 'SessionWithTurns',
    responseExample: { ...sessionExample, turns: [turnExample] },
    errors: [404],
  },
  'POST /v1/sessions/{id}/turns': {
    tag: 'sessions',
    request: 'TurnRequest',
    requestExample: { input: 'Add a README', onBusy: 'queue' },
    responseExample: turnExample,
    errors: [400, 404, 409, 429, 503],
  },
  'POST /v1/sessions/{id}/interrupt': {
    tag: 'sessions',
    responseExample: { ...turnExample, status: 'interrupted', finalResponse: null },
    errors: [404, 409],
  },
  'POST /v1/sessions/{id}/fork': {
    tag: 'sessions',
    responseExample: {
      ...sessionExample,
      id: 'ses_01JD4ZF4E5F6G7H8J9K0L1M2N3',
      forkedFrom: sessionExample.id,
      forkedAtTurn: sessionExample.turnCount,
      forkedAtSeq: sessionExample.lastSeq,
      turnCount: 0,
      lastSeq: 1,
    },
    errors: [404, 409, 503],
  },
  'POST /v1/sessions/{id}/archive': {
    tag: 'sessions',
    responseExample: { ...sessionExample, status: 'archived' },
    errors: [404, 409, 503],
  },
  'GET /v1/sessions/{id}/events': {
    ...v1Events,
    tag: 'sessions',
    responseExample: { ...eventExample, runId: undefined, sessionId: sessionExample.id },
  },
  'GET /v1/webhook-secret': {
    tag: 'webhooks',
    response: 'WebhookSecret',
    responseExample: { tenant: 'team-a', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7Kx1hbLmEJo=' },
    errors: [400],
  },
  'GET /v1/approvals': {
    tag: 'approvals',
    response: 'ApprovalList',
    responseExample: { approvals: [approvalExample] },
    errors: [400],
  },
  'GET /v1/approvals/events': {
    tag: 'approvals',
    summary: 'Pending approvals across sessions, live (Server-Sent Events)',
    responseExample: { approvals: [approvalExample] },
    errors: [],
    stream: 'approvals-sse',
  },
  'GET /v1/approvals/{id}': { tag: 'approvals', responseExample: approvalExample, errors: [404] },
  'POST /v1/approvals/{id}': {
    tag: 'approvals',
    request: 'ApprovalAnswer',
    requestExample: { decision: 'accept' },
    responseExample: approvalExample,
    errors: [400, 404, 409],
  },
  'GET /hello': {
    tag: 'seed 000: codex api plan',
    summary: 'A short random greeting from the AI_PROVIDER agent, as text/plain',
    responseExample: 'Hello there, have a great day!',
    stream: 'text',
    errors: [408, 500, 503],
    errorShape: 'codex-api-plan',
  },
  'POST /chat': {
    tag: 'seed 000: codex api plan',
    summary: "Run a prompt; answers the agent's final response as stdout, a line as `codex exec` printed it",
    request: 'ChatRequest',
    response: 'ChatResponse',
    requestExample: { prompt: 'What does this repository do?' },
    responseExample: { stdout: 'It serves coding agents over HTTP.\n', stderr: '', returncode: 0 },
    errors: [400, 408, 413, 500, 503],
    errorShape: 'codex-api-plan',
  },
  'GET /clis': {
    tag: 'seed 001: codex.serve',
    summary: 'The CLIs POST /run may start (CLI_LIST)',
    response: 'CliList',
    responseSchema: countedList('clis'),
    responseExample: { clis: ['codex'], count: 1 },
    errors: [],
    errorShape: 'fastapi',
  },
  'GET /models': {
    tag: 'seed 001: codex.serve',
    summary: 'The model ids (MODEL_LIST)',
    response: 'SeedModelList',
    responseSchema: countedList('models'),
    responseExample: { models: ['auto'], count: 1 },
    errors: [],
    errorShape: 'fastapi',
  },
  'POST /run': {
    tag: 'seed 001: codex.serve',
    summary: 'Run an allowlisted CLI; its output streams as NDJSON frames, then its exit code',
    request: 'CliRunRequest',
    requestExample: { cli: 'codex', args: ['exec', '--json', 'say hi'], stdin: '' },
    responseExample: { type: 'stdout', data: 'hi\n' },
    stream: 'cli-ndjson',
    errors: [400, 413, 503],
    errorShape: 'fastapi',
    fastapiBody: true,
  },
  'POST /agent/stream': {
    tag: 'seed 004: agent stream',
    summary:
      'A bidirectional agent session on one HTTP/2 stream: user_message, approve and cancel frames in; status, item and command_prompt frames out',
    requestExample: { type: 'user_message', sessionId: 'demo-1', content: 'List the files here' },
    ...agentStreamFrames,
  },
  'GET /agent/ws': {
    tag: 'seed 004: agent stream',
    summary:
      "The agent stream's frames over WebSocket (subprotocol agent-stream; token in Authorization or a bearer subprotocol)",
    ...agentStreamFrames,
  },
  'POST /api/codex/stream': {
    tag: 'seed 002: codex streaming',
    summary: "Run codex exec and stream codex's own JSONL events as SSE",
    request: 'CodexRunRequest',
    requestExample: {
      prompt: 'Create a Python function to calculate fibonacci numbers',
      sandbox: 'workspace-write',
    },
    responseExample: { type: 'item.completed', item: { id: 'item_0', type: 'agent_message', text: 'Done.' } },
    stream: 'codex-sse',
    errors: [400, 413, 503],
    errorShape: 'fastapi',
    fastapiBody: true,
  },
  'POST /api/codex/run': {
    tag: 'seed 002: codex streaming',
    summary: "Run codex exec and answer all of codex's events and the final response",
    request: 'CodexRunRequest',
    response: 'CodexRunResponse',
    requestExample: { prompt: 'Write a hello world program', working_directory: 'demo' },
    responseExample: {
      events: [
        { type: 'thread.started', thread_id: '019a6b3c-7d2e-7f00-8000-1234567890ab' },
        { type: 'turn.started' },
        { type: 'item.completed', item: { id: 'item_0', type: 'agent_message', text: 'print("hello")' } },
        { type: 'turn.completed', usage: { input_tokens: 1200, cached_input_tokens: 0, output_tokens: 12 } },
      ],
      final_response: 'print("hello")',
    },
    errors: [400, 408, 413, 503],
    errorShape: 'fastapi',
    fastapiBody: true,
  },
  'POST /api/thread/start': {
    tag: 'seed 003: codex agent server',
    summary: 'Start a codex thread (a gateway session)',
    request: 'ThreadStartRequest',
    response: 'ThreadResponse',
    responseSchema: {
      type: 'object',
      properties: {
        thread: {
          type: 'object',
          properties: {
            id: { type: 'string', description: "codex's thread id" },
            preview: {
              type: 'string',
              description: "app-server's preview: the first input of the thread (a fork's, of its history)",
            },
            modelProvider: {
              type: ['string', 'null'],
              description: "app-server's model provider of the thread (null when app-server did not say)",
            },
            createdAt: {
              type: ['integer', 'null'],
              description: "Unix seconds, app-server's (one value on start, resume, fork and read)",
            },
            updatedAt: {
              type: ['integer', 'null'],
              description: "Unix seconds, app-server's (null when app-server did not say)",
            },
            turns: {
              type: 'array',
              items: {},
              description:
                "app-server's turns of the thread on resume, fork and read with includeTurns; empty on start and on read without",
            },
          },
          required: ['id', 'preview', 'modelProvider', 'createdAt', 'updatedAt', 'turns'],
        },
      },
      required: ['thread'],
    },
    requestExample: { cwd: '/workspace', approvalPolicy: 'never' },
    responseExample: threadExample,
    errors: [400, 500, 503],
    errorShape: 'fastapi',
    fastapiBody: true,
  },
  'POST /api/thread/resume': { ...threadById, summary: 'Resume a codex thread' },
  'POST /api/thread/read': {
    tag: 'seed 003: codex agent server',
    summary: 'A codex thread as app-server records it (with its turns when includeTurns), archived ones too',
    request: 'ThreadReadRequest',
    response: 'ThreadResponse',
    requestExample: { threadId: threadExample.thread.id, includeTurns: true },
    responseExample: threadExample,
    errors: [400, 500, 503],
    errorShape: 'fastapi',
    fastapiBody: true,
  },
  'POST /api/thread/fork': { ...threadById, summary: 'Fork a codex thread' },
  'POST /api/turn/start': {
    tag: 'seed 003: codex agent server',
    summary: 'Run a turn on a codex thread and answer it once it ended',
    request: 'TurnStartRequest',
    response: 'TurnStartResponse',
    responseSchema: {
      type: 'object',
      properties: {
        turn: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            status: { enum: ['completed', 'interrupted', 'failed', 'inProgress'] },
            items: {
              type: 'array',
              description: "app-server's records of the turn, as `/api/thread/read` lists them",
              items: { type: 'object', additionalProperties: true },
            },
            error: {
              description: "The original's TurnError, null unless the turn failed",
              oneOf: [
                { type: 'null' },
                {
                  type: 'object',
                  properties: {
                    message: { type: 'string' },
                    codexErrorInfo: { type: ['string', 'null'] },
                    additionalDetails: { type: ['string', 'null'] },
                  },
                  required: ['message', 'codexErrorInfo', 'additionalDetails'],
                },
              ],
            },
          },
          required: ['id', 'status', 'items', 'error'],
        },
      },
      required: ['turn'],
    },
    requestExample: { threadId: threadExample.thread.id, input: [{ type: 'text', text: 'Add a README' }] },
    responseExample: {
      turn: {
        id: '1',
        status: 'completed',
        items: [
          {
            type: 'userMessage',
            id: 'item_0',
            content: [{ type: 'text', text: 'Add a README', text_elements: [] }],
          },
          { type: 'agentMessage', id: 'msg_0', text: 'Added README.md.' },
        ],
        error: null,
      },
    },
    errors: [400, 409, 503, 504],
    errorShape: 'fastapi',
    fastapiBody: true,
  },
  'POST /api/skills/list': {
    tag: 'seed 003: codex agent server',
    summary: "Codex's skills (app-server skills/list)",
    request: 'SkillsListRequest',
    response: 'SkillsList',
    requestExample: {},
    responseExample: { data: [{ cwd: '/workspace', skills: [{ name: 'lint', enabled: true }] }] },
    errors: [400, 500, 503],
    errorShape: 'fastapi',
    fastapiBody: true,
  },
  'POST /api/skills/config/write': {
    tag: 'seed 003: codex agent server',
    summary: 'Enable or disable a codex skill (app-server skills/config/write)',
    request: 'SkillsConfigWriteRequest',
    response: 'SkillsConfigWriteResponse',
    requestExample: { path: '/workspace/.codex/skills/lint/SKILL.md', enabled: false },
    responseExample: {},
    errors: [400, 500, 503],
    errorShape: 'fastapi',
    fastapiBody: true,
  },
}
