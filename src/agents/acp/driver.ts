import type { Config } from '../../config/load.js'
import { localRunner } from '../../process/local-runner.js'
import type { ProcessRunner } from '../../process/runner.js'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import { type FirstUse, firstUse } from '../../util/first-use.js'
import {
  type AgentCapabilities,
  type AgentStatus,
  capabilities,
  type RunRequest,
  type WarmPoolCounts,
} from '../driver.js'
import type { AgentSession, SessionDriver, SessionHooks, SessionRequest } from '../session.js'
import { type AcpAgentSpec, acpAgentSpecs } from './agent-spec.js'
import type { AcpEngine } from './engine.js'
import { acpBinary, acpStatus } from './probe.js'
import type { ReadyFor } from './ready-sessions.js'

export const acpCapabilities = capabilities('sessions', 'approvals', 'interrupt')

/**
 * A preset's: each answers `initialize` with `promptCapabilities.image` (codex-acp 0.16.0, claude-agent-acp 0.100.0,
 * Gemini CLI 0.61.0, copilot 1.0.102), so a turn's or run's images go to it as ACP image blocks (prompt-blocks.ts). A
 * custom agent (ACP_AGENTS) is not known to: it takes none (a 400). A preset's command replaced by one whose answer
 * lacks it fails such a turn (prompt-blocks.ts).
 */
export const acpPresetCapabilities = capabilities('sessions', 'approvals', 'interrupt', 'images')

/** A driver's warm runs before its first run or session: none made, none served. */
const noWarmRuns: WarmPoolCounts = { started: 0, served: 0, waiting: 0 }

/**
 * `acp:<name>`: any Agent Client Protocol agent over stdio (@agentclientprotocol/sdk): `initialize`,
 * `session/new` {cwd, mcpServers: []}, a turn is `session/prompt`, an interrupt `session/cancel`, a
 * permission request an approval. Sessions started the same way (cwd, model, sandbox, approval policy)
 * share agent processes, up to ACP_SESSIONS_PER_PROCESS each (AcpLeases, AcpPool); a session in a container
 * has its own. `run()` is a session of one turn: on a process kept ready for one-shot runs (ACP_WARM_RUNS,
 * warm-run.ts; the session itself opened ahead by the previous run like it, ready-sessions.ts), else on a
 * process of its own (cold-run.ts).
 *
 * This class is what the server holds from its start (id, capabilities, probe); what runs and sessions need is
 * AcpEngine (engine.ts), loaded with the first run or session and then called directly.
 */
export class AcpDriver implements SessionDriver {
  readonly id: string
  readonly capabilities: AgentCapabilities
  /** A turn's `image` items (data:image/ URLs) go as image blocks too (with capabilities.images). */
  readonly imageUrls: boolean
  private readonly engine: FirstUse<AcpEngine>

  constructor(
    private readonly config: Config,
    readonly spec: AcpAgentSpec,
    private readonly serverEnv: NodeJS.ProcessEnv = process.env,
    runner: ProcessRunner = localRunner,
    /** How long a process kept ready for one-shot runs (and the session opened on it) waits for the next run. */
    warmKeepMs?: number,
  ) {
    this.id = `acp:${spec.name}`
    this.capabilities = spec.flavor === 'custom' ? acpCapabilities : acpPresetCapabilities
    this.imageUrls = this.capabilities.images
    this.engine = firstUse(async () => {
      const { AcpEngine } = await import('./engine.js')
      return new AcpEngine(this.id, config, spec, serverEnv, runner, warmKeepMs)
    })
  }

  get warmPool(): WarmPoolCounts {
    return this.engine.loaded?.warmPool ?? noWarmRuns
  }

  /** The sessions opened ahead of time for the next one-shot runs (agent session id, cwd, sandbox). */
  get readySessions(): ({ agentSessionId: string } & ReadyFor)[] {
    return this.engine.loaded?.readySessions ?? []
  }

  /** Agent processes sessions share now. */
  get sharedProcesses(): number {
    return this.engine.loaded?.sharedProcesses ?? 0
  }

  /** The preset and configured ACP agents (ACP_AGENTS) as drivers. */
  static all(
    config: Config,
    serverEnv: NodeJS.ProcessEnv = process.env,
    runner: ProcessRunner = localRunner,
  ): AcpDriver[] {
    return acpAgentSpecs(config.ACP_AGENTS).map((spec) => new AcpDriver(config, spec, serverEnv, runner))
  }

  get binary(): string | null {
    return acpBinary(this.spec, this.serverEnv)
  }

  async probe(): Promise<AgentStatus> {
    return acpStatus(this.id, this.spec, this.config, this.serverEnv)
  }

  run(req: RunRequest, signal: AbortSignal): AsyncIterable<AgentEvent> {
    const engine = this.engine.loaded
    return engine ? engine.run(req, signal) : this.firstRun(req, signal)
  }

  /** The first run: once the engine is loaded, the same as every later one. */
  private async *firstRun(req: RunRequest, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    const engine = await this.engine.load()
    yield* engine.run(req, signal)
  }

  async openSession(req: SessionRequest, hooks: SessionHooks): Promise<AgentSession> {
    return (this.engine.loaded ?? (await this.engine.load())).openSession(req, hooks)
  }

  /** See AcpEngine.resumeSession: a session the agent cannot load goes on in a new one (`context_lost`). */
  async resumeSession(
    agentSessionId: string,
    req: SessionRequest,
    hooks: SessionHooks,
  ): Promise<AgentSession> {
    return (this.engine.loaded ?? (await this.engine.load())).resumeSession(agentSessionId, req, hooks)
  }

  async call(method: string): Promise<unknown> {
    throw new AppError('invalid_request', `${this.id} has no agent-specific call ${method}`)
  }

  /** Ends the processes kept ready for one-shot runs (shutdown); sessions end their own. */
  async close(): Promise<void> {
    // an engine still loading (a first run or session under way) is closed once it is there
    const engine = this.engine.loaded ?? (this.engine.loading ? await this.engine.load() : undefined)
    await engine?.close()
  }
}
