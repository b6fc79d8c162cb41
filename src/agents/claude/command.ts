import type { Config } from '../../config/load.js'
import { baseChildEnv, passedThrough } from '../../process/child-env.js'
import { type ModelAccess, modelRoute } from '../../process/key-proxy/model-access.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { permissionArgs, permissionEnv } from './permissions.js'
import { scrubbedShellEnv } from './scrubbed-shell.js'

/** Which conversation a `claude -p` process continues. */
export type ClaudeThread = { kind: 'new'; sessionId?: string } | { kind: 'resume'; sessionId: string }

export interface ClaudeCommand {
  sandbox: SandboxMode
  /** CLAUDE_WORKSPACE_SETTINGS: the workspace's own configuration is loaded (trusted workspaces only). */
  workspaceSettings?: boolean
  /** CLAUDE_WEBFETCH_PREFLIGHT: WebFetch asks api.anthropic.com about a domain first (else webFetchSettings). */
  webFetchPreflight?: boolean
  model?: string
  thread?: ClaudeThread
  /**
   * The turn's permission questions are answered by the gateway (an approval policy other than `never`): the
   * prompt and the answers go through stdin as stream-json (permission-prompts.ts).
   */
  asks?: boolean
  /** Rules the session allowed for good (`accept_for_session`), as `--allowedTools` entries. */
  allowedTools?: string[]
}

/**
 * The workspace's own Claude Code configuration is not loaded: `.claude/settings.json` and `settings.local.json`
 * (hooks, `apiKeyHelper` and other commands, permission allow rules, `env`) and `.mcp.json` (MCP servers) make
 * Claude Code run commands outside its permission mode, and a workspace is written by agents and repositories.
 * Only the user's settings (the gateway's HOME or CLAUDE_CONFIG_DIR, the operator's) and no MCP server.
 */
export const workspaceConfigOff = ['--setting-sources', 'user', '--strict-mcp-config']

/**
 * Claude Code's settings that keep its WebFetch from asking api.anthropic.com about each domain before fetching
 * it (`GET /api/web/domain_info?domain=...`: the domain goes to Anthropic, and with no way out there every fetch
 * fails "Unable to verify if domain ... is safe to fetch"). Given as flag settings, which win over the user's and
 * load whatever `--setting-sources` says; CLAUDE_WEBFETCH_PREFLIGHT keeps the check.
 */
export const webFetchSettings = { skipWebFetchPreflight: true }

/** `--settings` with webFetchSettings, unless CLAUDE_WEBFETCH_PREFLIGHT. */
export const webFetchArgs = (preflight: boolean | undefined): string[] =>
  preflight ? [] : ['--settings', JSON.stringify(webFetchSettings)]

/** The argv after the binary; the prompt goes through stdin, so its size is not limited by argv. */
export function claudeArgs(cmd: ClaudeCommand): string[] {
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--include-partial-messages']
  if (!cmd.workspaceSettings) args.push(...workspaceConfigOff)
  args.push(...webFetchArgs(cmd.webFetchPreflight))
  if (cmd.model) args.push('--model', cmd.model)
  const asks = cmd.asks === true && cmd.sandbox !== 'danger-full-access'
  if (asks) args.push('--input-format', 'stream-json')
  args.push(...permissionArgs(cmd.sandbox, asks))
  if (asks && cmd.allowedTools?.length) args.push('--allowedTools', ...cmd.allowedTools)
  const thread = cmd.thread ?? { kind: 'new' }
  if (thread.kind === 'resume') args.push('--resume', thread.sessionId)
  if (thread.kind === 'new' && thread.sessionId) args.push('--session-id', thread.sessionId)
  return args
}

/** Claude Code's own knobs an operator may set in the server env; passed on as they are. */
const passThrough = [
  'ANTHROPIC_AUTH_TOKEN',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'CLAUDE_CONFIG_DIR',
  'CLAUDE_CODE_MAX_RETRIES',
  'API_TIMEOUT_MS',
]

/**
 * baseChildEnv + the endpoint and key + every switch that keeps Claude Code from calling home (telemetry,
 * error reports, update checks, surveys); the key is only ever in the env, never on the command line.
 */
export function claudeEnv(
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
  sandbox: SandboxMode,
  access?: ModelAccess,
): Record<string, string> {
  const env: Record<string, string> = { ...baseChildEnv(serverEnv) }
  Object.assign(env, passedThrough(serverEnv, passThrough))
  Object.assign(env, anthropicEndpointEnv(config, access))
  return {
    ...env,
    ...scrubbedShellEnv(config, env),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1',
    ...permissionEnv(sandbox),
  }
}

/**
 * ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY of a Claude Code process (claude, claude-agent-acp): with the key
 * proxy (a runner that fronts anthropic) a token of the process's own and the proxy's URL, else the settings'.
 */
export function anthropicEndpointEnv(config: Config, access?: ModelAccess): Record<string, string> {
  const { key, url } = modelRoute(access, 'anthropic', {
    key: config.ANTHROPIC_API_KEY,
    url: config.ANTHROPIC_BASE_URL,
  })
  return { ...(url ? { ANTHROPIC_BASE_URL: url } : {}), ...(key ? { ANTHROPIC_API_KEY: key } : {}) }
}
