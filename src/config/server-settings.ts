import { z } from 'zod'
import { defaultMaxImageBytes, maxImageBytesCeiling } from '../util/image-type.js'
import {
  addressRanges,
  bool,
  int,
  list,
  listAsSet,
  maxTimerMs,
  maxTimerSeconds,
  optionalInt,
  optionalList,
  optionalString,
  optionalTimeoutSeconds,
  setting,
} from './setting-kinds.js'

/**
 * The gateway's own settings, read from the environment (and `.env`). Names follow the seed systems so their
 * deployments keep working (AI_PROVIDER, WORKSPACE_DIR, CLI_LIST, ...). Each driver declares its own settings
 * in its folder (src/agents/<driver>/settings.ts); src/config/schema.ts puts them together.
 */
export const serverSettings = z.object({
  HOST: setting(
    '127.0.0.1',
    'Address to listen on. A non-loopback address requires API_TOKENS.',
    z.string().default('127.0.0.1'),
  ),
  PORT: setting('8000', 'Port to listen on (0 picks a free port).', int(8000, 0, 65_535)),
  API_TOKENS: setting(
    '(none)',
    'Comma-separated bearer tokens; when set every request needs one. An entry is a bare `<token>` (every scope) or `<name>:<token>:<scopes>[:<tenant>]` with scopes `read`, `run`, `approve`, `admin` joined by `+`; a tenant token sees only its tenant (see docs/OPERATIONS.md).',
    list([]),
  ),
  METRICS_TOKEN: setting(
    '(none)',
    "A bearer token that opens GET /metrics only (the untenanted API tokens with `read` open it too; a tenant's token gets 403: the counts are the whole server's).",
    optionalString,
  ),
  BUDGET_MAX_DURATION_SECONDS: setting(
    '(none)',
    'Default and ceiling of `limits.maxDurationSeconds` (runs: wall time; sessions: total turn time).',
    optionalInt(1),
  ),
  BUDGET_MAX_TURNS: setting('(none)', 'Default and ceiling of `limits.maxTurns`.', optionalInt(1)),
  BUDGET_MAX_TOKENS: setting(
    '(none)',
    'Default and ceiling of `limits.maxTokens` (input plus output tokens).',
    optionalInt(1),
  ),
  WEBHOOK_URLS: setting(
    '(none)',
    'Comma-separated URLs that receive every webhook event (run.completed, approval.requested, approval.resolved, turn.completed, turn.failed, session.idle).',
    list([]),
  ),
  WEBHOOK_SECRET: setting(
    '(none)',
    "Standard Webhooks signing secret, `whsec_<base64 key>`; required for any webhook (WEBHOOK_URLS or `webhook` on a run or session). A tenant's own webhooks are signed with a key derived from it for that tenant (GET /v1/webhook-secret; docs/SECURITY.md).",
    optionalString,
  ),
  WEBHOOK_ALLOWED_HOSTS: setting(
    '(none)',
    'Host names, IPs or CIDRs webhooks may reach although they are loopback, private or link-local (refused otherwise).',
    list([]),
  ),
  WEBHOOK_MAX_ATTEMPTS: setting(
    '8',
    'Attempts per webhook delivery before it is recorded as failed.',
    int(8, 1, 100),
  ),
  WEBHOOK_RETRY_BASE_MS: setting(
    '1000',
    'First retry delay of a failed delivery; doubles with each attempt (capped at one hour).',
    int(1000, 10),
  ),
  WEBHOOK_TIMEOUT_MS: setting('10000', 'Time one delivery attempt may take.', int(10_000, 100)),
  DATA_DIR: setting('./data', 'Where the gateway keeps its state.', z.string().default('./data')),
  WORKSPACE_DIR: setting(
    './data/workspaces',
    'Default working directory of agents, and the first workspace root (created if missing). Relative to the working directory, not to DATA_DIR: set it too when you move DATA_DIR.',
    z.string().default('./data/workspaces'),
  ),
  WORKSPACE_ROOTS: setting(
    '(none)',
    'More comma-separated directories a request `cwd` may point into. No workspace root may contain DATA_DIR, CODEX_HOME, HOME, the `.env` read or the gateway itself (the server refuses to start).',
    list([]),
  ),
  TENANTS_DIR: setting(
    'DATA_DIR/tenants',
    'Per tenant (API_TOKENS `name:token:scopes:tenant`): `<dir>/<tenant>/workspace`, its only workspace root, and `<dir>/<tenant>/home`, its agent homes (HOME, CODEX_HOME, ...). Must not overlap a workspace root.',
    optionalString,
  ),
  AI_PROVIDER: setting(
    'codex',
    'Default agent (codex, claude, gemini, copilot, ...): of /hello and /chat, and of POST /v1/runs, POST /v1/sessions and GET /v1/models when they name none.',
    z.string().default('codex'),
  ),
  AGENTS: setting(
    '(all)',
    'Comma-separated agents to offer (GET /v1/agents); `codex` and `cli` are always on.',
    optionalList,
  ),
  TIMEOUT_SECONDS: setting(
    '60',
    'Time limit of an agent run: the default `timeoutMs` of POST /v1/runs, and the limit of /hello, /chat and /api/codex/* (408 on /hello, /chat and /api/codex/run).',
    int(60, 1, maxTimerSeconds),
  ),
  CLI_LIST: setting(
    'codex',
    'CLIs that POST /run may execute (comma-separated; set empty: none).',
    listAsSet(['codex']),
  ),
  MODEL_LIST: setting(
    'auto',
    "Model ids GET /models returns (comma-separated; set empty: none, and /v1/models lists each agent's own).",
    listAsSet(['auto']),
  ),
  RUN_RESPONSE_TIMEOUT_SECONDS: setting(
    '(disabled)',
    'Time limit of POST /run; the stream then ends with exit code 124. Empty or <= 0 disables it.',
    optionalTimeoutSeconds,
  ),
  BODY_LIMIT_BYTES: setting(
    '1048576',
    "Largest request body accepted (413 beyond). Raised, a turn's input or a run's prompt is still bounded by its agent (codex: 1,048,576 characters of text) and by the 8 MiB line the gateway reads of an agent, on which agents write it back (400 beyond).",
    int(1_048_576, 1024),
  ),
  MAX_CONCURRENT_RUNS: setting(
    '4',
    "Agent runs executing at once (per tenant, see docs/OPERATIONS.md; a worker node's for all tenants together); more wait as `queued`.",
    int(4, 1),
  ),
  MAX_QUEUED_RUNS: setting('100', 'Queued runs beyond which POST /v1/runs answers 429.', int(100, 0)),
  IDEMPOTENCY_KEY_TTL: setting(
    '86400',
    'Seconds an `Idempotency-Key` of `POST /v1/runs`, `POST /v1/sessions` or `POST /v1/sessions/:id/turns` answers with the run, session or turn it made (per tenant), from its first request; an expired key is deleted and may make a new one. From 60 (one minute) to 2592000 (30 days).',
    int(86_400, 60, 2_592_000),
  ),
  RUN_RETENTION_DAYS: setting('30', 'Finished runs older than this are deleted (0 keeps all).', int(30, 0)),
  DATABASE_URL: setting(
    '(SQLite in DATA_DIR)',
    'postgres://… selects the PostgreSQL store shared by several gateway nodes (runs reach workers through pg-boss).',
    optionalString.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'expected postgres://user@host:port/database')
        .optional(),
    ),
  ),
  GATEWAY_ROLE: setting(
    'all',
    '`all` takes requests and runs agents; with DATABASE_URL, `api` only takes requests and serves streams, `worker` only runs agents. Also `serve --role`.',
    z.enum(['all', 'api', 'worker']).default('all'),
  ),
  NODE_TIMEOUT_SECONDS: setting(
    '10',
    'A node silent this long is dead: its runs become `interrupted` (`worker_lost`), its sessions move on. Heartbeat and check: a fifth of it. With DATABASE_URL a node whose process is gone (crash, kill -9, OOM) is found sooner, by its liveness lock: at the first check after, plus a second.',
    int(10, 2, maxTimerSeconds),
  ),
  LOST_JOB_CHECK_SECONDS: setting(
    '60',
    "With DATABASE_URL and GATEWAY_ROLE api or worker: this often a node looks for runs admitted this long ago (twice STORE_QUERY_TIMEOUT_SECONDS if longer), still `queued` and unclaimed, with no job in the workers' queue (pg-boss): an API node's send lost mid-statement, or the node gone between storing the run and sending its job. Their jobs are sent again and a worker runs them (once: a run is claimed once). One node's check at a time across the cluster. 0: never.",
    int(60, 0, maxTimerSeconds),
  ),
  PG_IDLE_IN_TRANSACTION_SECONDS: setting(
    '10',
    'With DATABASE_URL: PostgreSQL ends a store connection left inside a transaction this long (a node paused mid-write), so the row locks it held no longer block the node taking its work over. 0: never.',
    int(10, 0, maxTimerSeconds),
  ),
  PG_LOCK_TIMEOUT_SECONDS: setting(
    '30',
    "With DATABASE_URL: a takeover of a lost node's runs and sessions, a node's mark as lost or its removal waiting this long for a lock (a paused node's transaction) fails (the step is retried) instead of waiting on; so does a migration. Every other store query waits three quarters of STORE_QUERY_TIMEOUT_SECONDS at most (this if shorter). Keep it above PG_IDLE_IN_TRANSACTION_SECONDS. 0: never.",
    int(30, 0, maxTimerSeconds),
  ),
  PG_STATEMENT_TIMEOUT_SECONDS: setting(
    '60',
    'With DATABASE_URL: a store query running this long is cancelled by PostgreSQL. 0: never.',
    int(60, 0, maxTimerSeconds),
  ),
  PG_POOL_SIZE: setting(
    '10',
    "With DATABASE_URL: connections in each node's store pool (the EventLog's commits, reads, the event bus's NOTIFYs, node signals). A node also holds 2 LISTEN connections, 1 for its liveness lock, and pg-boss 4 with GATEWAY_ROLE api or worker: keep the nodes' sum below PostgreSQL's max_connections. Raise it (with PG_EVENT_LOG_LANES) when PostgreSQL is milliseconds away or many sessions run at once (docs/OPERATIONS.md).",
    int(10, 2, 1000),
  ),
  PG_EVENT_LOG_LANES: setting(
    '(half of PG_POOL_SIZE)',
    "With DATABASE_URL: the EventLog's commits that may run at once, each for other runs and sessions (default: half of PG_POOL_SIZE, rounded down). Must be below PG_POOL_SIZE: the connections left serve reads, the bus and node signals.",
    optionalInt(1, 999),
  ),
  STORE_OUTAGE_GRACE_SECONDS: setting(
    '30',
    "With DATABASE_URL: a run's or a session turn's events that PostgreSQL refuses before their transaction could start (the connection refused or not made: a restart, a failover, too many connections) are held in order, in memory, and tried again with a short backoff for this long, its agent's output not read meanwhile; then stored and the run or turn goes on. Past it the run or turn fails as the store's failure. 0: it fails at once.",
    int(30, 0, maxTimerSeconds),
  ),
  STORE_OUTAGE_HELD_MAX_BYTES: setting(
    '67108864',
    "The events of runs and session turns in flight (not yet stored: what a store outage holds in memory, STORE_OUTAGE_GRACE_SECONDS), about their bytes, all runs' and turns' together: past it each run or turn waits for its next event to be stored before it reads more of its agent's output, as past 1000 events in flight of its own. Bounds the memory a few huge events (a command's output of megabytes) hold while the store does not answer. An agent process is then read no further once its runs or turns hold 256 KiB of its events besides (a one-shot process: cli, codex-exec, claude, gemini, copilot; a codex app-server or an ACP agent: all its sessions together): the agent blocks on its write until the store answers.",
    int(67_108_864, 1_048_576),
  ),
  STORE_QUERY_TIMEOUT_SECONDS: setting(
    '10',
    "With DATABASE_URL: a store read (a query outside a transaction), a new connection or a wait for a free one while the server answers none of the others (a wait in a busy node's queue, the server answering, goes on), a transaction's BEGIN and each of its statements before COMMIT that PostgreSQL does not answer within this long fail (a server that hangs: frozen, SIGSTOPped, cut off), the connection destroyed (COMMIT never sent: the server rolls it back): a request answers 503 `store_unavailable`, a run's or turn's events are held as in an outage (STORE_OUTAGE_GRACE_SECONDS). A COMMIT (or a single write statement) already sent waits for the server: its outcome is unknown, it is never cut nor sent again. The LISTEN connections are checked this often and replaced when not answered in time. A store query (a read, a single write, a transaction's statement) waits for a lock another client holds (another node's or an operator's open transaction, an operator's LOCK TABLE, an ALTER TABLE) three quarters of this at most (PG_LOCK_TIMEOUT_SECONDS if shorter; each connection's lock_timeout), a run's admission the whole of this for the cluster's admission lock (PG_LOCK_TIMEOUT_SECONDS if shorter; taken in its COMMIT, which is not cut): PostgreSQL then ends the wait itself and a request answers 503 `store_busy`, not taken for a hung server. A stop waits this long for the server after its runs ended, then destroys its connections (a COMMIT not answered is logged as of unknown outcome). 0: never.",
    int(10, 0, maxTimerSeconds),
  ),
  SHUTDOWN_GRACE_SECONDS: setting(
    '10',
    'On SIGTERM, time runs in flight get to finish before they are ended. With DATABASE_URL the stop then waits at most STORE_QUERY_TIMEOUT_SECONDS more for a PostgreSQL server that does not answer.',
    int(10, 0, maxTimerSeconds),
  ),
  HEADERS_TIMEOUT_SECONDS: setting(
    '30',
    "Time a client gets to send a request's headers (408 after), to say which protocol it speaks on a cleartext port, and to finish a TLS handshake: a connection that dribbles bytes is cut.",
    int(30, 1, 300),
  ),
  HTTP2_IDLE_SECONDS: setting(
    '72',
    'An HTTP/2 connection without a stream for this long gets GOAWAY and is closed.',
    int(72, 1, maxTimerSeconds),
  ),
  MAX_CONNECTIONS: setting(
    '1000',
    'Client connections held at once; one more is refused (429 `over_capacity` on cleartext HTTP/1.1, else closed).',
    int(1000, 1),
  ),
  MAX_CONNECTIONS_PER_CLIENT: setting(
    '100',
    "Client connections one client address (an IPv6 client's /64) may hold at once; one more is refused as over MAX_CONNECTIONS.",
    int(100, 1),
  ),
  MAX_CONNECTIONS_PER_CLIENT_EXEMPT: setting(
    '127.0.0.0/8,::1',
    'IPs or CIDRs MAX_CONNECTIONS_PER_CLIENT does not apply to: a proxy in front (all its clients share its address) and loopback; `none` exempts nobody.',
    addressRanges(['127.0.0.0/8', '::1']),
  ),
  HTTP2_MAX_STREAMS: setting(
    '128',
    'Streams (requests, event streams) one HTTP/2 connection may have open at once; the client waits for more.',
    int(128, 1, 10_000),
  ),
  BODY_IDLE_SECONDS: setting(
    '20',
    'A request body with no byte for this long is answered 408 `request_timeout` and its connection (HTTP/2: stream) closed. On /agent/stream and /agent/ws it bounds the gap within a frame instead (FRAME_DECODING_ERROR, the stream ends); a stream silent between frames stays open.',
    int(20, 1, 300),
  ),
  BODY_MIN_BYTES_PER_SECOND: setting(
    '500',
    'After its first BODY_IDLE_SECONDS a request body (on /agent/stream and /agent/ws: each frame) must keep this average rate (each N bytes buy one more second), else 408 as above. 0: off.',
    int(500, 0),
  ),
  SSE_KEEPALIVE_SECONDS: setting(
    '15',
    'Interval of the `: keep-alive` comments every SSE stream (native and seed routes) sends while open, so proxies keep it; announced in its `X-Keepalive-Seconds` header, so a client can take a stream silent for 2.5 times it for a dead connection (the typed client and the console reconnect with Last-Event-ID). 0: none (and no such bound).',
    int(15, 0, maxTimerSeconds),
  ),
  APPROVAL_TIMEOUT_SECONDS: setting(
    '300',
    'An approval nobody answers within this time is declined (the turn goes on).',
    int(300, 1, maxTimerSeconds),
  ),
  MAX_QUEUED_TURNS: setting(
    '20',
    'Turns one session may queue behind the running one (429 beyond).',
    int(20, 0),
  ),
  SESSION_IDLE_SECONDS: setting(
    '600',
    'A session with no turn for this long is unloaded from its agent (threads, processes); its next turn resumes it. 0: never.',
    int(600, 0, maxTimerSeconds),
  ),
  MAX_IMAGE_BYTES: setting(
    String(defaultMaxImageBytes),
    `Largest image (its bytes, decoded) a turn or run may give, a file or a data: URL (400 beyond, naming the item). At most ${maxImageBytesCeiling}: an image's base64 must fit in the 8 MiB line the gateway reads of an agent.`,
    int(defaultMaxImageBytes, 1, maxImageBytesCeiling),
  ),
  MAX_PROMPT_CHARS: setting('100000', 'Longest prompt accepted (400 beyond).', int(100_000, 1)),
  KILL_GRACE_MS: setting(
    '2000',
    'Time between SIGTERM and SIGKILL when a process group is ended.',
    int(2000, 0, maxTimerMs),
  ),
  FORCE_END_AFTER_MS: setting(
    '5000',
    'A run or session turn that has not ended KILL_GRACE_MS plus this long after its abort (a stop, a cancel, an interrupt: its agent ignored it, or a process that left its tree holds its output open) is ended by force: its end recorded, saying why. The HTTP close of a stop waits as long for its connections.',
    int(5000, 100, maxTimerMs),
  ),
  OUTPUT_DRAIN_MS: setting(
    '2000',
    "After an agent process exited, how long its stdout/stderr may stay open (held by a daemon it started outside its process group, e.g. `setsid cmd &`) before it counts as ended anyway (its run ends): the output is closed, what was read is kept, and the processes that carry its marker are ended (SIGTERM, SIGKILL after KILL_GRACE_MS). A run timeout or cancel within that time ends it 500 ms later (the output's last bytes are read first), with the agent's own exit. At least 100.",
    int(2000, 100, maxTimerMs),
  ),
  RUN_ALLOW_ENV: setting(
    '(none)',
    'Env names POST /run may set although the policy refuses them (e.g. PATH).',
    list([]),
  ),
  RUN_ALLOW_UNSAFE_ARGS: setting(
    'false',
    'Let POST /run pass any arguments: the grammars of codex, claude, gemini and copilot (other sessions, paths outside the workspace, MCP servers, plugins, settings, provider/sandbox -c overrides, bypass flags) and the generic bypass checks of other programs are skipped.',
    bool(false),
  ),
  MODEL_KEY_PROXY: setting(
    'true',
    'Agents never hold a provider key: each agent process gets a token of its own and the URL of a proxy on 127.0.0.1 that swaps it for the key (codex, claude, gemini, codex-acp, claude-agent-acp, copilot with a custom provider; not the GitHub sign-in of copilot, not containers: docs/SECURITY.md).',
    bool(true),
  ),
  ALLOW_DANGER_FULL_ACCESS: setting(
    'false',
    'Let requests ask for sandbox `danger-full-access` (no sandbox: the agent may write anywhere, run anything) on every route.',
    bool(false),
  ),
  TLS_CERT_PATH: setting(
    '(none)',
    'PEM certificate; with TLS_KEY_PATH the port speaks TLS, HTTP/2 and HTTP/1.1 chosen by ALPN (else cleartext HTTP/1.1 and h2c).',
    optionalString,
  ),
  TLS_KEY_PATH: setting('(none)', 'PEM private key for TLS_CERT_PATH.', optionalString),
  CODEX_API_USE_TLS: setting(
    'false',
    'Seed 004 alias: `true` turns TLS on with CODEX_API_TLS_CERT_PATH and CODEX_API_TLS_KEY_PATH.',
    bool(false),
  ),
  CODEX_API_TLS_CERT_PATH: setting(
    './certs/localhost.pem',
    'Seed 004: certificate used when CODEX_API_USE_TLS=true (TLS_CERT_PATH wins).',
    z.string().default('./certs/localhost.pem'),
  ),
  CODEX_API_TLS_KEY_PATH: setting(
    './certs/localhost-key.pem',
    'Seed 004: private key used when CODEX_API_USE_TLS=true (TLS_KEY_PATH wins).',
    z.string().default('./certs/localhost-key.pem'),
  ),
  AGENT_STREAM_HEARTBEAT_SECONDS: setting(
    '30',
    'Interval of `heartbeat` frames on /agent/stream and /agent/ws.',
    int(30, 1),
  ),
  LOG_LEVEL: setting(
    'info',
    'pino log level.',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  LOG_FORMAT: setting(
    'auto',
    '`pretty`: readable lines; `json`: one JSON object per line; `auto`: pretty on a terminal, JSON otherwise.',
    z.enum(['auto', 'pretty', 'json']).default('auto'),
  ),
})
