import { randomUUID } from 'node:crypto'
import type { Config } from '../../config/load.js'
import { localRunner } from '../../process/local-runner.js'
import { newMarker } from '../../process/process-marker.js'
import type { ProcessRunner } from '../../process/runner.js'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import { resolveModel } from '../../protocol/models.js'
import { runNotStarted } from '../../protocol/run-completed.js'
import { CliAgentDriver, type CliCredentials } from '../cli-agent-driver.js'
import { capabilities, type RunRequest } from '../driver.js'
import { placed } from '../placement.js'
import { runProcess } from '../process-run.js'
import type { AgentSession, SessionDriver, SessionHooks, SessionRequest } from '../session.js'
import { chatExists, ensureGeminiSettings, geminiHome } from './home.js'
import { geminiEnv, geminiMarkers, noWorkspaceConfig } from './launch-env.js'
import { approvalArgs, defaultGeminiSandbox } from './permissions.js'
import { geminiAuthHint, geminiHasCredentials, geminiInstallHint, resolveGeminiBinary } from './probe.js'
import { type GeminiInvocation, type GeminiProcessHost, GeminiSession } from './session.js'
import { createGeminiStreamMapper } from './stream-events.js'

export const geminiCapabilities = capabilities('sessions', 'interrupt')

/**
 * Gemini CLI in headless mode: `gemini -p '' -o stream-json` per run or turn, the prompt on stdin. Sessions
 * are Gemini's own chats: created with `--session-id <uuid>`, continued with `--resume <uuid>`. The workspace's
 * own configuration is left out (launch-env.ts).
 */
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
    return geminiEnv(this.config, this.serverEnv, this.runner, this.home)
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
    // attached: Gemini CLI (yargs) reads a next argument that starts with `-` as an option, not as -m's value
    if (model) args.push(`--model=${model}`)
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
          env: { ...this.childEnv(), ...geminiMarkers(marker) },
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
