import { randomUUID } from 'node:crypto'
import type { Config } from '../../config/load.js'
import { baseChildEnv } from '../../process/child-env.js'
import { modelRoute } from '../../process/key-proxy/model-access.js'
import { localRunner } from '../../process/local-runner.js'
import { markerVariable, newMarker } from '../../process/process-marker.js'
import type { ProcessRunner } from '../../process/runner.js'
import { serverMarker, serverMarkerVariable } from '../../process/server-marker.js'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import { resolveModel } from '../../protocol/models.js'
import { runNotStarted } from '../../protocol/run-completed.js'
import { CliAgentDriver, type CliCredentials } from '../cli-agent-driver.js'
import { capabilities, type RunRequest } from '../driver.js'
import { runProcess } from '../process-run.js'
import type { AgentSession, SessionDriver, SessionHooks, SessionRequest } from '../session.js'
import { chatExists, ensureGeminiSettings, geminiHome } from './home.js'
import { approvalArgs, defaultGeminiSandbox } from './permissions.js'
import { geminiAuthHint, geminiHasCredentials, geminiInstallHint, resolveGeminiBinary } from './probe.js'
import { type GeminiInvocation, type GeminiProcessHost, GeminiSession } from './session.js'
import { createGeminiStreamMapper } from './stream-events.js'

export const geminiCapabilities = capabilities('sessions', 'interrupt')

/**
 * The process marker under a name Gemini CLI's strict env filter (SURFACE=Github) keeps for the commands it
 * runs: it drops every other name but a few, the marker's own included (process-marker.ts `carriesMarker`).
 */
const geminiMarkerVariable = `GEMINI_CLI_${markerVariable}`
/**
 * The server's marker (server-marker.ts) under such a name too: the next start's sweep finds by it what the
 * commands of a gateway that was killed left running (`serverMarkerIn` reads either name).
 */
const geminiServerMarkerVariable = `GEMINI_CLI_${serverMarkerVariable}`

import { placed } from '../placement.js'

/**
 * Gemini CLI in headless mode: `gemini -p '' -o stream-json` per run or turn, the prompt on stdin. Sessions
 * are Gemini's own chats: created with `--session-id <uuid>`, continued with `--resume <uuid>`.
 */
/**
 * A workspace is written by agents and repositories, so its `.gemini/settings.json` (hooks,
 * `tools.discoveryCommand`/`callCommand`, MCP servers: commands run outside any sandbox) is not loaded. Gemini CLI
 * reads its settings before its arguments: the workspace is untrusted then (GEMINI_CLI_TRUST_WORKSPACE=false: its
 * settings are skipped, the system and user files kept), and `--skip-trust` trusts it from the arguments on
 * (headless runs need it; an untrusted folder gets approval mode `default` and no git commands). Its `.gemini/.env`,
 * which Gemini CLI read again at its auth check, once trusted, is kept out by the home's settings (home.ts:
 * `security.auth.useExternal`, `advanced.ignoreLocalEnv`). The MCP flag wins over every settings file: only
 * a server by a name no configuration uses is allowed. GEMINI_WORKSPACE_SETTINGS: all of it is loaded.
 */
const noWorkspaceConfig = ['--skip-trust', '--allowed-mcp-server-names', 'agent-gateway-allows-no-mcp-server']

export class GeminiDriver extends CliAgentDriver implements SessionDriver, GeminiProcessHost {
  readonly id = 'gemini'
  readonly capabilities = geminiCapabilities
  protected override readonly pinnedPackages = ['@google/gemini-cli']
  /** The directory that holds Gemini's `.gemini/` (settings, chats). */
  readonly home: string
  private settingsReady: Promise<void> | undefined

  constructor(
    config: Config,
    serverEnv: NodeJS.ProcessEnv = process.env,
    runner: ProcessRunner = localRunner,
  ) {
    super(config, serverEnv, runner)
    this.home = geminiHome(config, serverEnv)
  }

  protected findBinary(config: Config): string | null {
    return resolveGeminiBinary(config.GEMINI_PATH)
  }

  /** Allowlisted env plus Gemini's endpoint and key; no telemetry, no relaunch, the workspace's settings left out. */
  childEnv(): Record<string, string> {
    // through the key proxy (when the runner fronts gemini) a token of the process's own and the proxy's URL
    const { key, url: baseUrl } = modelRoute(this.runner, 'gemini', {
      key: this.config.GEMINI_API_KEY,
      url: this.config.GOOGLE_GEMINI_BASE_URL,
    })
    return {
      ...baseChildEnv(this.serverEnv),
      GEMINI_CLI_HOME: this.home,
      // read before the arguments: `false` keeps the workspace's settings out, `--skip-trust` trusts it after
      GEMINI_CLI_TRUST_WORKSPACE: this.config.GEMINI_WORKSPACE_SETTINGS ? 'true' : 'false',
      GEMINI_CLI_NO_RELAUNCH: 'true',
      GEMINI_TELEMETRY_ENABLED: 'false',
      NO_BROWSER: 'true',
      // Gemini CLI's strict environment sanitization for the shell commands it runs (the mode it uses in
      // GitHub Actions): they get PATH, HOME, locale, TMPDIR and the like, never GEMINI_API_KEY or any other
      // credential. Settings cannot turn it off (a workspace's .gemini/settings.json could turn the
      // non-strict mode off); SURFACE is otherwise only a telemetry label, and telemetry is off.
      SURFACE: 'Github',
      ...(key ? { GEMINI_API_KEY: key } : {}),
      ...(baseUrl ? { GOOGLE_GEMINI_BASE_URL: baseUrl } : {}),
    }
  }

  protected credentials(): CliCredentials {
    return {
      authenticated: geminiHasCredentials(this.config, this.home),
      installHint: geminiInstallHint,
      authHint: geminiAuthHint(this.home),
    }
  }

  /** The argv after the binary; the prompt goes through stdin (`-p ''` appends nothing to it). */
  buildArgs(call: Omit<GeminiInvocation, 'prompt' | 'cwd'>): string[] {
    const args = ['-p', '', '-o', 'stream-json']
    if (!this.config.GEMINI_WORKSPACE_SETTINGS) args.push(...noWorkspaceConfig)
    const model = resolveModel(call.model, this.config.GEMINI_MODEL)
    if (model) args.push('-m', model)
    args.push(...approvalArgs(call.sandbox ?? defaultGeminiSandbox))
    if (call.session) args.push(call.session.resume ? '--resume' : '--session-id', call.session.id)
    return args
  }

  async *invoke(
    call: GeminiInvocation,
    mapper: ReturnType<typeof createGeminiStreamMapper>,
    signal: AbortSignal,
  ): AsyncGenerator<AgentEvent> {
    if (!this.binary) {
      yield { type: 'run.started', agent: this.id }
      yield runNotStarted(geminiInstallHint)
      return
    }
    this.settingsReady ??= ensureGeminiSettings(this.home)
    try {
      await this.settingsReady
    } catch (error) {
      this.settingsReady = undefined
      yield { type: 'run.started', agent: this.id }
      yield runNotStarted(`cannot write Gemini settings under ${this.home}: ${(error as Error).message}`)
      return
    }
    const marker = newMarker()
    yield* runProcess(
      {
        agent: this.id,
        runner: this.runner,
        spawn: {
          command: this.binary,
          args: this.buildArgs(call),
          cwd: call.cwd,
          ...placed(call, 'gemini', [this.home], (call.sandbox ?? 'read-only') !== 'read-only'),
          env: {
            ...this.childEnv(),
            [geminiMarkerVariable]: marker,
            [geminiServerMarkerVariable]: serverMarker(),
          },
          stdin: call.prompt,
          timeoutMs: call.timeoutMs ?? null,
          killGraceMs: this.config.KILL_GRACE_MS,
          // a command's daemon (setsid, a double fork) leaves the group: it ends with the process
          sweepLeftovers: true,
          marker,
        },
        stdout: { mode: 'lines', mapper },
      },
      signal,
    )
  }

  run(req: RunRequest, signal: AbortSignal): AsyncIterable<AgentEvent> {
    const call: GeminiInvocation = {
      prompt: req.prompt,
      cwd: req.cwd,
      ...(req.model ? { model: req.model } : {}),
      ...(req.sandbox ? { sandbox: req.sandbox } : {}),
      timeoutMs: req.timeoutMs ?? null,
      ...placed(req, 'gemini'),
    }
    return this.invoke(call, createGeminiStreamMapper(this.id), signal)
  }

  /** A new chat; its id is chosen here and given to Gemini with `--session-id` on the first turn. */
  async openSession(req: SessionRequest, _hooks: SessionHooks): Promise<AgentSession> {
    return new GeminiSession(this, req, randomUUID())
  }

  async resumeSession(
    agentSessionId: string,
    req: SessionRequest,
    _hooks: SessionHooks,
  ): Promise<AgentSession> {
    return new GeminiSession(this, req, agentSessionId)
  }

  chatExists(agentSessionId: string): Promise<boolean> {
    return chatExists(this.home, agentSessionId)
  }

  async call(method: string, _params: unknown): Promise<unknown> {
    throw new AppError('invalid_request', `gemini has no method ${method}`)
  }
}
