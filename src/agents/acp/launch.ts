import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { baseChildEnv, passedThrough } from '../../process/child-env.js'
import type { ModelAccess } from '../../process/key-proxy/model-access.js'
import type { ModelProvider } from '../../process/key-proxy/provider-auth.js'
import type { LaunchSpec } from '../../process/runner.js'
import { resolveModel } from '../../protocol/models.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { anthropicEndpointEnv } from '../claude/command.js'
import { scrubbedShellEnv, scrubbedShellMount } from '../claude/scrubbed-shell.js'
import { codexHostCaEnv } from '../codex/ca-bundle.js'
import { includeOnlyOverride } from '../codex/command-markers.js'
import { codexOverride } from '../codex/config-override.js'
import { codexEnv, codexProviderArgs } from '../codex/provider-args.js'
import { confinedProfile, sessionProfile, sessionProfileOverrides } from '../codex/read-profiles.js'
import type { AskForApproval } from '../codex-app-server/generated/v2/AskForApproval.js'
import { escalationAllowed, heldApproval } from '../codex-app-server/held-sandbox.js'
import { askForApproval } from '../codex-app-server/thread-settings.js'
import { resolveCodexBinary } from '../codex-binary.js'
import { copilotCommonFlags } from '../copilot/args.js'
import { copilotEnv } from '../copilot/env.js'
import { innerSandbox, type Placement, placed } from '../placement.js'
import type { ApprovalPolicy } from '../session.js'
import type { AcpAgentSpec } from './agent-spec.js'
import { withHooksLockdown } from './copilot-lockdown.js'
import { geminiAcpArgs, geminiAcpEnv, geminiMarkerPrefix } from './gemini-launch.js'
import { proxyAuthenticationScrubbed } from './proxy-authentication.js'

/** Everything the runner needs to start one ACP agent process. */
export interface AcpLaunch {
  command: string
  args: string[]
  env: Record<string, string>
  cwd: string
  killGraceMs: number
  /** How long an answered prompt waits for its open tool calls' last updates (ACP_TOOL_SETTLE_MS). */
  toolSettleMs: number
  timeoutMs?: number | null
  signal?: AbortSignal
  /**
   * The agent is codex (codex-acp): the marker its process gets is also set in its commands' environment
   * policy, so an operator's `shell_environment_policy` cannot drop it (command-markers.ts).
   */
  codexMarker?: boolean
  /**
   * The agent starts sandboxed helpers of its own outside commands (codex-acp under a read-confining profile: its
   * file-system helper): each turn's end sweeps the launchers they may strand (turn-directories.ts).
   */
  startsHelpers?: boolean
  /**
   * The agent keeps only names of its own for its commands (Gemini CLI: `GEMINI_CLI_*`): the process's marker
   * goes under `<prefix>AGENT_GATEWAY_APP_SERVER` too (process-marker.ts `carriesMarker`).
   */
  markerPrefix?: string
  /**
   * The agent reads files itself, not through the gateway (`fs.readTextFile` not offered; its writes still go
   * through it): Gemini CLI, which takes no JSON-RPC error for a missing file (it gets the error as a plain object and
   * looks for `ENOENT` in an Error's message), so it could create no file through the gateway's reads. It runs
   * unconfined on the same files and reads them anyway (its shell, and the files outside the cwd it reads itself).
   */
  readsItself?: boolean
  /**
   * claude-agent-acp on the key proxy: after `initialize` it is told to send its model requests to the proxy with
   * the token it was lent for this provider (proxy-authentication.ts).
   */
  proxyAuthentication?: ModelProvider
  /** Where it runs (`isolation: "container"`): the LaunchSpec fields of placement.ts. */
  placement?: Pick<LaunchSpec, 'isolation' | 'image' | 'labels' | 'program' | 'mounts' | 'writableCwd'>
  /**
   * The agent's program is not on this host (session-leases.ts checks before anything starts): nothing is
   * spawned, the process ends at once as `spawn_failed` with this error.
   */
  notFound?: string
}

export interface AcpLaunchSettings {
  cwd: string
  model?: string
  sandbox?: SandboxMode
  approvalPolicy?: ApprovalPolicy
  timeoutMs?: number | null
  signal?: AbortSignal
  placement?: Placement
  /** codex-acp: the `include_only` its commands get so they keep the markers (IncludeOnlyReader), if any. */
  includeOnly?: string[]
  /** The runner it starts on: when it fronts the agent's provider, the key goes through the key proxy. */
  access?: ModelAccess
}

/**
 * argv and env of one agent process. codex-acp is configured like codex (CODEX_HOME + the provider `-c`
 * overrides, plus model, default_permissions (read-profiles.ts sessionProfiles; else sandbox_mode) and approval_policy per
 * session); claude-agent-acp gets the Anthropic settings of the server's env with Claude Code's nonessential
 * traffic off; `gemini --acp` and `copilot --acp` get the env and flags of the gemini and copilot drivers
 * (gemini-launch.ts; copilot/env.ts, copilot/args.ts); claude-agent-acp's, gemini's and copilot's sandbox is
 * applied by the gateway's answers to their permission requests (sandbox-approvals.ts); a custom agent gets the
 * base env.
 */
export function acpLaunch(
  spec: AcpAgentSpec & { command: string },
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
  s: AcpLaunchSettings,
): AcpLaunch {
  const base = baseChildEnv(serverEnv)
  let extraArgs: string[] = []
  let env: Record<string, string> = base
  let proxied = false
  if (spec.flavor === 'codex-acp') {
    extraArgs = codexAcpArgs(config, s, serverEnv, spec.command)
    env = {
      ...base,
      ...codexEnv(config, serverEnv, s.access),
      ...codexHostCaEnv(serverEnv, s.placement?.isolation),
      PATH: withSandboxHelpers(base.PATH),
    }
  } else if (spec.flavor === 'claude-agent-acp') {
    const claude = { ...base, ...claudeEnv(config, serverEnv, s.model, s.access) }
    proxied = claudeProxied(s)
    env = { ...claude, ...scrubbedShellEnv(config, claude, proxied ? proxyAuthenticationScrubbed : []) }
  } else if (spec.flavor === 'gemini') {
    extraArgs = geminiAcpArgs(config, s.model)
    env = geminiAcpEnv(config, serverEnv, s.access)
  } else if (spec.flavor === 'copilot') {
    // like the copilot driver: the model a request names, else COPILOT_MODEL in the env
    const model = resolveModel(s.model)
    extraArgs = ['--acp', ...copilotCommonFlags, ...(model ? [`--model=${model}`] : [])]
    env = copilotEnv(config, serverEnv, s.placement?.isolation === 'container', s.access)
  }
  const js = spec.command.endsWith('.js')
  const inContainer = s.placement?.isolation === 'container'
  // a preset runs in an image as the program of its name; a custom JS agent as node with its script
  const script = js && !(inContainer && spec.flavor !== 'custom') ? [spec.command] : []
  const program = {
    command: js ? process.execPath : spec.command,
    args: [...script, ...spec.args, ...extraArgs],
  }
  // copilot's ACP sessions run the workspace's hooks: on the host it starts with them locked (copilot-lockdown.ts);
  // in a container they run in the container
  const launched =
    spec.flavor === 'copilot' && !inContainer && !config.COPILOT_WORKSPACE_SETTINGS
      ? withHooksLockdown(config, program.command, program.args)
      : program
  return {
    ...launched,
    env,
    cwd: s.cwd,
    killGraceMs: config.KILL_GRACE_MS,
    toolSettleMs: config.ACP_TOOL_SETTLE_MS,
    ...(spec.flavor === 'codex-acp' ? { codexMarker: true } : {}),
    ...(spec.flavor === 'codex-acp' && codexAcpConfinedReads(config, s) ? { startsHelpers: true } : {}),
    ...(spec.flavor === 'gemini' ? { markerPrefix: geminiMarkerPrefix, readsItself: true } : {}),
    ...(proxied ? { proxyAuthentication: 'anthropic' as const } : {}),
    ...(s.timeoutMs ? { timeoutMs: s.timeoutMs } : {}),
    ...(s.signal ? { signal: s.signal } : {}),
    ...(inContainer ? { placement: containerPlacement(spec, config, serverEnv, env, s, js) } : {}),
  }
}

/**
 * In a container the agent is the image's program of the same name (`codex-acp`, `claude-agent-acp`; `node`
 * for a custom JS agent, whose script must then be at the same path in the image), with its home mounted
 * (CODEX_HOME, CLAUDE_CONFIG_DIR), Claude Code's secret-scrubbing shell prefix read-only, and the cwd
 * writable unless the sandbox is read-only.
 */
function containerPlacement(
  spec: AcpAgentSpec & { command: string },
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
  env: Record<string, string>,
  s: AcpLaunchSettings,
  js: boolean,
): AcpLaunch['placement'] {
  const homes =
    spec.flavor === 'codex-acp'
      ? [config.CODEX_HOME]
      : spec.flavor === 'claude-agent-acp'
        ? [serverEnv.CLAUDE_CONFIG_DIR, scrubbedShellMount(env)]
        : spec.flavor === 'gemini'
          ? [env.GEMINI_CLI_HOME]
          : spec.flavor === 'copilot'
            ? [serverEnv.COPILOT_HOME]
            : []
  const program = spec.flavor !== 'custom' ? spec.name : js ? 'node' : path.basename(spec.command)
  return placed(s.placement, program, homes, (s.sandbox ?? config.CODEX_SANDBOX) !== 'read-only')
}

/** Whether codex-acp's profile confines reads (read-profiles.ts), under which codex starts helpers of its own. */
const codexAcpConfinedReads = (config: Config, s: AcpLaunchSettings) =>
  confinedProfile(config, innerSandbox(s.placement ?? {}, s.sandbox ?? config.CODEX_SANDBOX)) !== undefined

/**
 * codex's overrides, with no shell snapshot: the codex of codex-acp (0.16) takes one by running the user's
 * shell with codex-acp's own environment (the provider keys included) into CODEX_HOME/shell_snapshots, and
 * sources it before each command, restoring only the policy's `set` names afterwards: every variable
 * `shell_environment_policy.exclude` kept from the command came back (`env` showed CODEX_API_KEY), and the
 * file held the keys for any command to read. (The pinned codex restores the policy's environment after the
 * snapshot, and keeps the keys out of it.)
 */
function codexAcpArgs(
  config: Config,
  s: AcpLaunchSettings,
  serverEnv: NodeJS.ProcessEnv,
  binary: string,
): string[] {
  const model = resolveModel(s.model, config.CODEX_MODEL)
  const sandbox = innerSandbox(s.placement ?? {}, s.sandbox ?? config.CODEX_SANDBOX)
  // the session profiles of codex's threads (read-profiles.ts sessionProfiles): no command run outside the
  // sandbox, reads confined with CODEX_CONFINE_READS; codex-acp runs itself again inside bubblewrap, so its own
  // binary is the one a confining profile grants; codex refuses `sandbox_mode` together with `default_permissions`
  const profile = sessionProfile(config, sandbox)
  return [
    ...codexOverride('features.shell_snapshot', false),
    ...(profile ? sessionProfileOverrides(config, binary) : []),
    ...codexProviderArgs(config, s.access, serverEnv),
    ...(model ? codexOverride('model', model) : []),
    ...(profile ? codexOverride('default_permissions', profile) : codexOverride('sandbox_mode', sandbox)),
    ...approvalOverride(s.approvalPolicy ? askForApproval(s.approvalPolicy) : undefined, s, config),
    ...includeOnlyOverride(s.includeOnly),
  ]
}

/**
 * codex's `approval_policy`, without the model's unsandboxed runs unless the session allows them (held-sandbox.ts).
 * A session naming no policy runs codex's default, `on-request`, which asks for them: held too (a CODEX_HOME
 * `approval_policy` is then overridden, which codex-acp does not report).
 */
function approvalOverride(
  policy: AskForApproval | undefined,
  s: AcpLaunchSettings,
  config: Config,
): string[] {
  const allowed = escalationAllowed(s.sandbox ?? config.CODEX_SANDBOX, config.ALLOW_DANGER_FULL_ACCESS)
  if (policy === undefined && allowed) return []
  const held = heldApproval(policy ?? 'on-request', allowed)
  return typeof held === 'string'
    ? codexOverride('approval_policy', held)
    : codexOverride('approval_policy.granular', held.granular)
}

/**
 * codex-acp ships no bubblewrap of its own and looks for `bwrap` on PATH; the pinned @openai/codex package
 * bundles one (codex-resources/), so its directory goes last on the child's PATH.
 */
function withSandboxHelpers(pathVar: string | undefined): string {
  const codex = resolveCodexBinary()
  const resources = codex ? path.join(path.dirname(path.dirname(codex)), 'codex-resources') : null
  if (!resources || !existsSync(path.join(resources, 'bwrap'))) return pathVar ?? ''
  return pathVar ? `${pathVar}${path.delimiter}${resources}` : resources
}

const claudePassThrough = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_BASE_URL',
  'ANTHROPIC_MODEL',
  'ANTHROPIC_SMALL_FAST_MODEL',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'CLAUDE_CONFIG_DIR',
  'CLAUDE_CODE_MAX_RETRIES',
]

/** The Anthropic settings (ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY, CLAUDE_MODEL), else the server env's. */
function claudeEnv(
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
  model: string | undefined,
  access: ModelAccess | undefined,
): Record<string, string> {
  const env: Record<string, string> = {
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
  }
  Object.assign(env, passedThrough(serverEnv, claudePassThrough))
  if (access?.fronts?.('anthropic')) {
    // through the key proxy: neither the server env's key nor its endpoint reach the agent
    delete env.ANTHROPIC_API_KEY
    delete env.ANTHROPIC_BASE_URL
  }
  Object.assign(env, anthropicEndpointEnv(config, access))
  const chosen = resolveModel(model, config.CLAUDE_MODEL)
  if (chosen) env.ANTHROPIC_MODEL = chosen
  return env
}

/** claude-agent-acp gets its key from the key proxy: a local process (a container gets the real key). */
function claudeProxied(s: AcpLaunchSettings): boolean {
  return s.placement?.isolation !== 'container' && (s.access?.fronts?.('anthropic') ?? false)
}
