import { z } from 'zod'
import {
  bool,
  int,
  maxTimerSeconds,
  optionalInt,
  optionalString,
  setting,
} from '../../config/setting-kinds.js'
import { sandboxMode } from '../../protocol/policies.js'
import { agentLineChars } from '../../util/agent-line.js'
import { defaultHistoryMaxBytes, maxHistoryBytes } from '../codex-app-server/history-answers.js'

/** The codex driver's settings (environment variables), each with its documentation. */
export const codexSettings = z.object({
  CODEX_REQUEST_TIMEOUT: setting(
    '300',
    'Seconds POST /api/turn/start waits for the turn (seed 003); also bounds app-server requests.',
    int(300, 1, maxTimerSeconds),
  ),
  CODEX_HISTORY_MAX_BYTES: setting(
    String(defaultHistoryMaxBytes),
    `Longest answer codex app-server may give, on its one JSON line, with a thread's history (its turns: seed 003's /api/thread/resume, /api/thread/fork, /api/thread/read with includeTurns, a fork's point); counted in characters. Its data: URL images and command outputs make it long. An answer longer fails its request at once, saying so (500 agent_failed), and no turn is lost: a turn never needs one (codex resumes a thread without its turns). Any other line of codex (a notification, another answer) is still cut at the 8 MiB line the gateway reads of an agent. At least ${agentLineChars}, at most ${maxHistoryBytes}; the gateway holds up to about twice as many bytes in memory while it reads one.`,
    int(defaultHistoryMaxBytes, agentLineChars, maxHistoryBytes),
  ),
  CODEX_CLIENT_NAME: setting(
    'agent-gateway',
    'Client name the gateway gives codex app-server.',
    z.string().default('agent-gateway'),
  ),
  CODEX_LOG_LEVEL: setting(
    '(codex default)',
    'Log level of codex app-server (RUST_LOG), e.g. info.',
    optionalString,
  ),
  CODEX_PATH: setting(
    '(bundled)',
    'Path of the codex binary; default: the pinned native binary.',
    optionalString,
  ),
  CODEX_HOME: setting(
    '(codex default ~/.codex)',
    'Codex home directory (config, auth, sessions).',
    optionalString,
  ),
  CODEX_MODEL_PROVIDER: setting(
    '(codex config)',
    'Provider name; with CODEX_API_BASE_URL it names a provider defined by override.',
    optionalString,
  ),
  CODEX_MODEL: setting('(codex config)', 'Model passed to codex (-m).', optionalString),
  CODEX_MODEL_REASONING_EFFORT: setting('(codex config)', 'model_reasoning_effort override.', optionalString),
  CODEX_API_BASE_URL: setting(
    '(none)',
    'OpenAI-compatible endpoint (Responses API); passed to codex as a provider override.',
    optionalString.pipe(z.url().optional()),
  ),
  CODEX_API_KEY: setting(
    '(none)',
    'Key for that endpoint, never logged; codex gets it only where the key proxy is off (MODEL_KEY_PROXY) or in a container, else a token of the key proxy.',
    optionalString,
  ),
  CODEX_MAX_RETRIES: setting(
    '(codex default)',
    'Stream and request retries of that provider.',
    optionalInt(0),
  ),
  CODEX_SANDBOX: setting(
    'read-only',
    'Default codex sandbox when a request does not choose one.',
    sandboxMode.default('read-only'),
  ),
  CODEX_CONFINE_READS: setting(
    'false',
    "true: commands of codex read-only and workspace-write runs and sessions read only their cwd, codex's own binaries and the system directories (/usr, /etc, /bin, /sbin, /lib*), through codex permission profiles (bubblewrap on Linux); it costs codex 0.169 ~0.7 s per `codex exec` and ~1.8 s per warm run (measured, docs/benchmarks.md), so it is opt-in. false: codex's `--sandbox` modes, which confine writes only (every file of the gateway's user is readable).",
    bool(false),
  ),
  CODEX_CONFIG_OVERRIDES: setting(
    '(none)',
    'Extra codex `-c key=value` overrides, separated by newlines or `;`.',
    optionalString,
  ),
  CODEX_WARM_RUNS: setting(
    'true',
    'One-shot codex runs use an ephemeral thread on the running codex app-server when their options allow (no output schema, no images); false: always `codex exec`.',
    bool(true),
  ),
})
