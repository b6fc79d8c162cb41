import { z } from 'zod'
import { sandboxMode } from '../protocol/policies.js'
import { containerSettingDocs, containerSettings } from './container-settings.js'

/**
 * Every setting of agent-gateway, read from the environment (and `.env`).
 * Names follow the seed systems so their deployments keep working (AI_PROVIDER, WORKSPACE_DIR, CLI_LIST, ...).
 * The README's settings table is generated from `settingDocs` below and checked by a test.
 */

const list = (fallback: string[]) =>
  z
    .string()
    .optional()
    .transform((v) =>
      v === undefined || v.trim() === ''
        ? fallback
        : v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    )

const bool = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback
      if (/^(1|true|yes|on)$/i.test(v)) return true
      if (/^(0|false|no|off)$/i.test(v)) return false
      ctx.addIssue({ code: 'custom', message: `expected true/false, got "${v}"` })
      return z.NEVER
    })

/** An integer setting in [min, max]; empty or unset gives undefined. */
const optionalInt = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined
      const n = Number(v)
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}, got "${v}"` })
        return z.NEVER
      }
      return n
    })

/** Node timers hold at most 2^31-1 ms; a longer delay fires at once. Every duration setting stays below. */
export const maxTimerMs = 2_147_483_647
const maxTimerSeconds = Math.floor(maxTimerMs / 1000)

/** An integer setting in [min, max] with a default. */
const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  optionalInt(min, max).transform((n) => n ?? fallback)

/** codex.serve semantics: empty, invalid or <= 0 disables the timeout. */
const optionalTimeoutSeconds = z
  .string()
  .optional()
  .transform((v) => {
    const n = Number(v)
    return v === undefined || v.trim() === '' || !Number.isFinite(n) || n <= 0
      ? null
      : Math.min(n, maxTimerSeconds)
  })

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))

export const envSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: int(8000, 0, 65_535),
  API_TOKENS: list([]),
  METRICS_TOKEN: optionalString,
  BUDGET_MAX_DURATION_SECONDS: optionalInt(1),
  BUDGET_MAX_TURNS: optionalInt(1),
  BUDGET_MAX_TOKENS: optionalInt(1),
  WEBHOOK_URLS: list([]),
  WEBHOOK_SECRET: optionalString,
  WEBHOOK_ALLOWED_HOSTS: list([]),
  WEBHOOK_MAX_ATTEMPTS: int(8, 1, 100),
  WEBHOOK_RETRY_BASE_MS: int(1000, 10),
  WEBHOOK_TIMEOUT_MS: int(10_000, 100),
  DATA_DIR: z.string().default('./data'),
  WORKSPACE_DIR: z.string().default('./data/workspaces'),
  WORKSPACE_ROOTS: list([]),
  TENANTS_DIR: optionalString,
  AI_PROVIDER: z.string().default('codex'),
  AGENTS: z
    .string()
    .optional()
    .transform((v) =>
      v === undefined || v.trim() === ''
        ? undefined
        : v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    ),
  TIMEOUT_SECONDS: int(60, 1, maxTimerSeconds),
  CLI_LIST: list(['codex']),
  MODEL_LIST: list(['auto']),
  RUN_RESPONSE_TIMEOUT_SECONDS: optionalTimeoutSeconds,
  BODY_LIMIT_BYTES: int(1_048_576, 1024),
  MAX_CONCURRENT_RUNS: int(4, 1),
  MAX_QUEUED_RUNS: int(100, 0),
  RUN_RETENTION_DAYS: int(30, 0),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected postgres://user@host:port/database')
      .optional(),
  ),
  GATEWAY_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  NODE_TIMEOUT_SECONDS: int(10, 2, maxTimerSeconds),
  SHUTDOWN_GRACE_SECONDS: int(10, 0, maxTimerSeconds),
  SSE_KEEPALIVE_SECONDS: int(15, 1, maxTimerSeconds),
  APPROVAL_TIMEOUT_SECONDS: int(300, 1, maxTimerSeconds),
  MAX_QUEUED_TURNS: int(20, 0),
  SESSION_IDLE_SECONDS: int(600, 0, maxTimerSeconds),
  CODEX_REQUEST_TIMEOUT: int(300, 1, maxTimerSeconds),
  CODEX_CLIENT_NAME: z.string().default('agent-gateway'),
  CODEX_LOG_LEVEL: optionalString,
  MAX_PROMPT_CHARS: int(100_000, 1),
  KILL_GRACE_MS: int(2000, 0, maxTimerMs),
  RUN_ALLOW_ENV: list([]),
  RUN_ALLOW_UNSAFE_ARGS: bool(false),
  ALLOW_DANGER_FULL_ACCESS: bool(false),
  TLS_CERT_PATH: optionalString,
  TLS_KEY_PATH: optionalString,
  CODEX_API_USE_TLS: bool(false),
  CODEX_API_TLS_CERT_PATH: z.string().default('./certs/localhost.pem'),
  CODEX_API_TLS_KEY_PATH: z.string().default('./certs/localhost-key.pem'),
  AGENT_STREAM_HEARTBEAT_SECONDS: int(30, 1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  CODEX_PATH: optionalString,
  CODEX_HOME: optionalString,
  CODEX_MODEL_PROVIDER: optionalString,
  CODEX_MODEL: optionalString,
  CODEX_MODEL_REASONING_EFFORT: optionalString,
  CODEX_API_BASE_URL: optionalString.pipe(z.url().optional()),
  CODEX_API_KEY: optionalString,
  CODEX_MAX_RETRIES: optionalInt(0),
  CODEX_SANDBOX: sandboxMode.default('read-only'),
  CODEX_CONFIG_OVERRIDES: optionalString,
  CODEX_WARM_RUNS: bool(true),
  ACP_AGENTS: optionalString,
  ACP_SESSIONS_PER_PROCESS: int(8, 1),
  ACP_WARM_RUNS: bool(true),
  GEMINI_PATH: optionalString,
  GOOGLE_GEMINI_BASE_URL: optionalString.pipe(z.url().optional()),
  GEMINI_API_KEY: optionalString,
  GEMINI_MODEL: optionalString,
  CLAUDE_PATH: optionalString,
  ANTHROPIC_BASE_URL: optionalString.pipe(z.url().optional()),
  ANTHROPIC_API_KEY: optionalString,
  CLAUDE_MODEL: optionalString,
  COPILOT_PATH: optionalString,
  COPILOT_PROVIDER_BASE_URL: optionalString.pipe(z.url().optional()),
  COPILOT_PROVIDER_API_KEY: optionalString,
  COPILOT_MODEL: optionalString,
  ...containerSettings,
})

export type RawSettings = z.infer<typeof envSchema>

/** One line of documentation per setting, in the README's order. */
export const settingDocs: Record<keyof RawSettings, { default: string; description: string }> = {
  HOST: {
    default: '127.0.0.1',
    description: 'Address to listen on. A non-loopback address requires API_TOKENS.',
  },
  PORT: { default: '8000', description: 'Port to listen on (0 picks a free port).' },
  API_TOKENS: {
    default: '(none)',
    description:
      'Comma-separated bearer tokens; when set every request needs one. An entry is a bare `<token>` (every scope) or `<name>:<token>:<scopes>[:<tenant>]` with scopes `read`, `run`, `approve`, `admin` joined by `+`; a tenant token sees only its tenant (see docs/OPERATIONS.md).',
  },
  METRICS_TOKEN: {
    default: '(none)',
    description: 'A bearer token that opens GET /metrics only (the API tokens with `read` open it too).',
  },
  BUDGET_MAX_DURATION_SECONDS: {
    default: '(none)',
    description:
      'Default and ceiling of `limits.maxDurationSeconds` (runs: wall time; sessions: total turn time).',
  },
  BUDGET_MAX_TURNS: { default: '(none)', description: 'Default and ceiling of `limits.maxTurns`.' },
  BUDGET_MAX_TOKENS: {
    default: '(none)',
    description: 'Default and ceiling of `limits.maxTokens` (input plus output tokens).',
  },
  WEBHOOK_URLS: {
    default: '(none)',
    description:
      'Comma-separated URLs that receive every webhook event (run.completed, approval.requested, approval.resolved, turn.completed, session.idle).',
  },
  WEBHOOK_SECRET: {
    default: '(none)',
    description:
      'Standard Webhooks signing secret, `whsec_<base64 key>`; required for any webhook (WEBHOOK_URLS or `webhook` on a run or session).',
  },
  WEBHOOK_ALLOWED_HOSTS: {
    default: '(none)',
    description:
      'Host names, IPs or CIDRs webhooks may reach although they are loopback, private or link-local (refused otherwise).',
  },
  WEBHOOK_MAX_ATTEMPTS: {
    default: '8',
    description: 'Attempts per webhook delivery before it is recorded as failed.',
  },
  WEBHOOK_RETRY_BASE_MS: {
    default: '1000',
    description: 'First retry delay of a failed delivery; doubles with each attempt (capped at one hour).',
  },
  WEBHOOK_TIMEOUT_MS: { default: '10000', description: 'Time one delivery attempt may take.' },
  DATA_DIR: { default: './data', description: 'Where the gateway keeps its state.' },
  WORKSPACE_DIR: {
    default: './data/workspaces',
    description: 'Default working directory of agents, and the first workspace root (created if missing).',
  },
  WORKSPACE_ROOTS: {
    default: '(none)',
    description: 'More comma-separated directories a request `cwd` may point into.',
  },
  TENANTS_DIR: {
    default: 'DATA_DIR/tenants',
    description:
      'Per tenant (API_TOKENS `name:token:scopes:tenant`): `<dir>/<tenant>/workspace`, its only workspace root, and `<dir>/<tenant>/home`, its agent homes (HOME, CODEX_HOME, ...). Must not overlap a workspace root.',
  },
  AI_PROVIDER: {
    default: 'codex',
    description: 'Agent behind /hello and /chat (codex, claude, gemini, copilot, ...).',
  },
  AGENTS: {
    default: '(all)',
    description: 'Comma-separated agents to offer (GET /v1/agents); `codex` and `cli` are always on.',
  },
  TIMEOUT_SECONDS: { default: '60', description: 'Time limit of an agent run (/hello, /chat) before 408.' },
  CLI_LIST: { default: 'codex', description: 'CLIs that POST /run may execute (comma-separated).' },
  MODEL_LIST: { default: 'auto', description: 'Model ids GET /models returns (comma-separated).' },
  RUN_RESPONSE_TIMEOUT_SECONDS: {
    default: '(disabled)',
    description:
      'Time limit of POST /run; the stream then ends with exit code 124. Empty or <= 0 disables it.',
  },
  BODY_LIMIT_BYTES: { default: '1048576', description: 'Largest request body accepted (413 beyond).' },
  MAX_CONCURRENT_RUNS: { default: '4', description: 'Agent runs executing at once; more wait as `queued`.' },
  MAX_QUEUED_RUNS: { default: '100', description: 'Queued runs beyond which POST /v1/runs answers 429.' },
  RUN_RETENTION_DAYS: {
    default: '30',
    description: 'Finished runs older than this are deleted (0 keeps all).',
  },
  DATABASE_URL: {
    default: '(SQLite in DATA_DIR)',
    description:
      'postgres://… selects the PostgreSQL store shared by several gateway nodes (runs reach workers through pg-boss).',
  },
  GATEWAY_ROLE: {
    default: 'all',
    description:
      '`all` takes requests and runs agents; with DATABASE_URL, `api` only takes requests and serves streams, `worker` only runs agents. Also `serve --role`.',
  },
  NODE_TIMEOUT_SECONDS: {
    default: '10',
    description:
      'A node silent this long is dead: its runs become `interrupted` (`worker_lost`), its sessions move on. Heartbeat: a fifth of it.',
  },
  SHUTDOWN_GRACE_SECONDS: {
    default: '10',
    description: 'On SIGTERM, time runs in flight get to finish before they are ended.',
  },
  SSE_KEEPALIVE_SECONDS: { default: '15', description: 'Interval of SSE keep-alive comments.' },
  APPROVAL_TIMEOUT_SECONDS: {
    default: '300',
    description: 'An approval nobody answers within this time is declined (the turn goes on).',
  },
  MAX_QUEUED_TURNS: {
    default: '20',
    description: 'Turns one session may queue behind the running one (429 beyond).',
  },
  SESSION_IDLE_SECONDS: {
    default: '600',
    description:
      'A session with no turn for this long is unloaded from its agent (threads, processes); its next turn resumes it. 0: never.',
  },
  CODEX_REQUEST_TIMEOUT: {
    default: '300',
    description:
      'Seconds POST /api/turn/start waits for the turn (seed 003); also bounds app-server requests.',
  },
  CODEX_CLIENT_NAME: {
    default: 'agent-gateway',
    description: 'Client name the gateway gives codex app-server.',
  },
  CODEX_LOG_LEVEL: {
    default: '(codex default)',
    description: 'Log level of codex app-server (RUST_LOG), e.g. info.',
  },
  MAX_PROMPT_CHARS: { default: '100000', description: 'Longest prompt accepted (400 beyond).' },
  KILL_GRACE_MS: {
    default: '2000',
    description: 'Time between SIGTERM and SIGKILL when a process group is ended.',
  },
  RUN_ALLOW_ENV: {
    default: '(none)',
    description: 'Env names POST /run may set although the policy refuses them (e.g. PATH).',
  },
  RUN_ALLOW_UNSAFE_ARGS: {
    default: 'false',
    description: 'Let POST /run pass sandbox/approval-bypass flags and provider/sandbox -c overrides.',
  },
  ALLOW_DANGER_FULL_ACCESS: {
    default: 'false',
    description:
      'Let requests ask for sandbox `danger-full-access` (no sandbox: the agent may write anywhere, run anything) on every route.',
  },
  TLS_CERT_PATH: {
    default: '(none)',
    description:
      'PEM certificate; with TLS_KEY_PATH the port speaks TLS, HTTP/2 and HTTP/1.1 chosen by ALPN (else cleartext HTTP/1.1 and h2c).',
  },
  TLS_KEY_PATH: { default: '(none)', description: 'PEM private key for TLS_CERT_PATH.' },
  CODEX_API_USE_TLS: {
    default: 'false',
    description:
      'Seed 004 alias: `true` turns TLS on with CODEX_API_TLS_CERT_PATH and CODEX_API_TLS_KEY_PATH.',
  },
  CODEX_API_TLS_CERT_PATH: {
    default: './certs/localhost.pem',
    description: 'Seed 004: certificate used when CODEX_API_USE_TLS=true (TLS_CERT_PATH wins).',
  },
  CODEX_API_TLS_KEY_PATH: {
    default: './certs/localhost-key.pem',
    description: 'Seed 004: private key used when CODEX_API_USE_TLS=true (TLS_KEY_PATH wins).',
  },
  AGENT_STREAM_HEARTBEAT_SECONDS: {
    default: '30',
    description: 'Interval of `heartbeat` frames on /agent/stream and /agent/ws.',
  },
  LOG_LEVEL: { default: 'info', description: 'pino log level.' },
  LOG_FORMAT: {
    default: 'auto',
    description:
      '`pretty`: readable lines; `json`: one JSON object per line; `auto`: pretty on a terminal, JSON otherwise.',
  },
  CODEX_PATH: {
    default: '(bundled)',
    description: 'Path of the codex binary; default: the pinned native binary.',
  },
  CODEX_HOME: {
    default: '(codex default ~/.codex)',
    description: 'Codex home directory (config, auth, sessions).',
  },
  CODEX_MODEL_PROVIDER: {
    default: '(codex config)',
    description: 'Provider name; with CODEX_API_BASE_URL it names a provider defined by override.',
  },
  CODEX_MODEL: { default: '(codex config)', description: 'Model passed to codex (-m).' },
  CODEX_MODEL_REASONING_EFFORT: {
    default: '(codex config)',
    description: 'model_reasoning_effort override.',
  },
  CODEX_API_BASE_URL: {
    default: '(none)',
    description: 'OpenAI-compatible endpoint (Responses API); passed to codex as a provider override.',
  },
  CODEX_API_KEY: {
    default: '(none)',
    description: 'Key for that endpoint; given to codex in its env, never logged.',
  },
  CODEX_MAX_RETRIES: {
    default: '(codex default)',
    description: 'Stream and request retries of that provider.',
  },
  CODEX_SANDBOX: {
    default: 'read-only',
    description: 'Default codex sandbox when a request does not choose one.',
  },
  CODEX_CONFIG_OVERRIDES: {
    default: '(none)',
    description: 'Extra codex `-c key=value` overrides, separated by newlines or `;`.',
  },
  CODEX_WARM_RUNS: {
    default: 'true',
    description:
      'One-shot codex runs use an ephemeral thread on the running codex app-server when their options allow (no output schema, no images); false: always `codex exec`.',
  },
  ACP_AGENTS: {
    default: '(presets only)',
    description:
      'More ACP agents, `name=command args,...` (driver `acp:<name>`); presets: codex-acp, claude-agent-acp.',
  },
  ACP_SESSIONS_PER_PROCESS: {
    default: '8',
    description:
      'Sessions one ACP agent process serves over its life (same agent and settings; not in containers); it ends with its last session. 1: a process per session.',
  },
  ACP_WARM_RUNS: {
    default: 'true',
    description:
      'One-shot ACP runs are sessions on an agent process kept ready (5 min after its last run; needs ACP_SESSIONS_PER_PROCESS > 1; not in containers); false: a process per run.',
  },
  GEMINI_PATH: {
    default: '(bundled)',
    description: 'Path of the gemini binary; default: the pinned @google/gemini-cli, else `gemini` on PATH.',
  },
  GOOGLE_GEMINI_BASE_URL: {
    default: '(Gemini API)',
    description: 'Gemini API endpoint Gemini CLI talks to (a proxy or gateway).',
  },
  GEMINI_API_KEY: {
    default: '(none)',
    description: 'Key Gemini CLI uses; given to gemini in its env, never logged.',
  },
  GEMINI_MODEL: { default: '(gemini default)', description: 'Model passed to gemini (-m).' },
  CLAUDE_PATH: {
    default: '(bundled)',
    description:
      'Path of the claude binary; default: the pinned @anthropic-ai/claude-code, else `claude` on PATH.',
  },
  ANTHROPIC_BASE_URL: {
    default: '(Anthropic API)',
    description: 'Anthropic Messages endpoint Claude Code talks to (a proxy or gateway).',
  },
  ANTHROPIC_API_KEY: {
    default: '(none)',
    description: 'Key Claude Code uses; given to claude in its env, never logged.',
  },
  CLAUDE_MODEL: { default: '(claude default)', description: 'Model passed to claude (--model).' },
  COPILOT_PATH: {
    default: '(bundled)',
    description:
      'Path of the copilot binary; default: the pinned native @github/copilot, else `copilot` on PATH.',
  },
  COPILOT_PROVIDER_BASE_URL: {
    default: '(GitHub Copilot)',
    description:
      'OpenAI-compatible endpoint (Chat Completions) for copilot (BYOK); copilot then runs offline.',
  },
  COPILOT_PROVIDER_API_KEY: {
    default: '(none)',
    description: 'Key for that endpoint; given to copilot in its env, never logged.',
  },
  COPILOT_MODEL: {
    default: '(copilot default)',
    description: 'Model for copilot (its COPILOT_MODEL env; requests may pass --model); BYOK needs one.',
  },
  ...containerSettingDocs,
}
