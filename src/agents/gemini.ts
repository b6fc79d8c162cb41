import { randomUUID } from 'node:crypto'
import type { Config } from '../config/load.js'
import { baseChildEnv } from '../process/child-env.js'
import { localRunner } from '../process/local-runner.js'
import type { ProcessRunner } from '../process/runner.js'
import { AppError } from '../protocol/errors.js'
import type { AgentEvent } from '../protocol/events.js'
import { runNotStarted } from '../protocol/run-completed.js'
import { cliStatus } from './cli-status.js'
import { CliVersionCache, readCliVersion } from './cli-version.js'
import type { AgentStatus, RunRequest } from './driver.js'
import { chatExists, ensureGeminiSettings, geminiHome } from './gemini/home.js'
import { approvalArgs, defaultGeminiSandbox } from './gemini/permissions.js'
import {
  geminiAuthHint,
  geminiHasCredentials,
  geminiInstallHint,
  resolveGeminiBinary,
} from './gemini/probe.js'
import { type GeminiInvocation, type GeminiProcessHost, GeminiSession } from './gemini/session.js'
import { createGeminiStreamMapper } from './gemini/stream-events.js'
import { placed } from './placement.js'
import { runProcess } from './process-run.js'
import type { AgentSession, SessionDriver, SessionHooks, SessionRequest } from './session.js'

/**
 * Gemini CLI in headless mode: `gemini -p '' -o stream-json` per run or turn, the prompt on stdin. Sessions
 * are Gemini's own chats: created with `--session-id <uuid>`, continued with `--resume <uuid>`.
 */
export class GeminiDriver implements SessionDriver, GeminiProcessHost {
  readonly id = 'gemini'
  readonly capabilities = {
    sessions: true,
    approvals: false,
    fork: false,
    interrupt: true,
    images: false,
    outputSchema: false,
  }
  readonly binary: string | null
  /** The directory that holds Gemini's `.gemini/` (settings, chats). */
  readonly home: string
  private readonly version = new CliVersionCache(async () =>
    this.binary ? readCliVersion(this.runner, this.binary, this.childEnv()) : null,
  )
  private settingsReady: Promise<void> | undefined

  constructor(
    private readonly config: Config,
    private readonly serverEnv: NodeJS.ProcessEnv = process.env,
    private readonly runner: ProcessRunner = localRunner,
  ) {
    this.binary = resolveGeminiBinary(config.GEMINI_PATH)
    this.home = geminiHome(config, serverEnv)
  }

  /** Allowlisted env plus Gemini's endpoint and key; no telemetry, no relaunch, the workspace trusted. */
  childEnv(): Record<string, string> {
    const { GEMINI_API_KEY: key, GOOGLE_GEMINI_BASE_URL: baseUrl } = this.config
    return {
      ...baseChildEnv(this.serverEnv),
      GEMINI_CLI_HOME: this.home,
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
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

  async probe(): Promise<AgentStatus> {
    const version = await this.version.get()
    return cliStatus({
      id: this.id,
      binary: this.binary,
      version,
      authenticated: geminiHasCredentials(this.config, this.home),
      installHint: geminiInstallHint,
      authHint: geminiAuthHint(this.home),
    })
  }

  /** The argv after the binary; the prompt goes through stdin (`-p ''` appends nothing to it). */
  buildArgs(call: Omit<GeminiInvocation, 'prompt' | 'cwd'>): string[] {
    const args = ['-p', '', '-o', 'stream-json']
    const model = call.model && call.model !== 'auto' ? call.model : this.config.GEMINI_MODEL
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
    yield* runProcess(
      {
        agent: this.id,
        runner: this.runner,
        spawn: {
          command: this.binary,
          args: this.buildArgs(call),
          cwd: call.cwd,
          ...placed(call, 'gemini', [this.home], (call.sandbox ?? 'read-only') !== 'read-only'),
          env: this.childEnv(),
          stdin: call.prompt,
          timeoutMs: call.timeoutMs ?? null,
          killGraceMs: this.config.KILL_GRACE_MS,
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
