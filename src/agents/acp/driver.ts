import { existsSync, mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { localRunner } from '../../process/local-runner.js'
import { abortReason, type ProcessRunner } from '../../process/runner.js'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import type { EndReason } from '../../protocol/outcome.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { codexAuthHint, codexHasCredentials } from '../codex/probe.js'
import { findOnPath } from '../codex-binary.js'
import { type AgentStatus, capabilities, type RunRequest } from '../driver.js'
import { processStarted } from '../process-run.js'
import type { AgentSession, SessionDriver, SessionHooks, SessionRequest } from '../session.js'
import { type AcpLease, AcpPool } from './acp-pool.js'
import { AcpProcess } from './acp-process.js'
import { AcpSession, errorMessage } from './acp-session.js'
import { type AcpAgentSpec, acpAgentSpecs } from './agent-spec.js'
import { type AcpLaunchSettings, acpLaunch, claudeHasCredentials } from './launch.js'
import { acpRunCompleted, type OneShotTurn } from './one-shot.js'
import { acpWarmable, acpWarmRun } from './warm-run.js'

/** Time limit of `initialize` and `session/new` / `session/load` (not of turns). */
const setupTimeoutMs = 60_000
/** How long an agent process kept ready for one-shot runs waits for the next one. */
const warmKeepMs = 300_000

/** The data dir (created when missing), else the system's temp dir. */
function dataDir(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true })
    return dir
  } catch {
    return os.tmpdir()
  }
}

/**
 * One-shot runs have nobody to ask, so the run's sandbox answers: read-only declines everything,
 * workspace-write accepts what happens inside the run's cwd (commands run there, files changed there),
 * danger-full-access accepts everything. The agent's own sandbox (codex-acp's sandbox_mode) still applies.
 */
function sandboxHooks(sandbox: SandboxMode | undefined, cwd: string): SessionHooks {
  const inside = (p: string) => {
    const rel = path.relative(cwd, path.resolve(cwd, p))
    return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel))
  }
  return {
    requestApproval: async (ask) => {
      if (sandbox === 'danger-full-access') return 'accept'
      if (sandbox !== 'workspace-write') return 'decline'
      const paths = [...(ask.cwd ? [ask.cwd] : []), ...(ask.changes ?? []).map((c) => c.path)]
      return ask.kind !== 'permission' && paths.length > 0 && paths.every(inside) ? 'accept' : 'decline'
    },
  }
}

export const acpCapabilities = capabilities('sessions', 'approvals', 'interrupt')

/**
 * `acp:<name>`: any Agent Client Protocol agent over stdio (@agentclientprotocol/sdk): `initialize`,
 * `session/new` {cwd, mcpServers: []}, a turn is `session/prompt`, an interrupt `session/cancel`, a
 * permission request an approval. Sessions started the same way (cwd, model, sandbox, approval policy)
 * share agent processes, up to ACP_SESSIONS_PER_PROCESS each (AcpPool); a session in a container has its own.
 * `run()` is a session of one turn: on a process kept ready for one-shot runs (ACP_WARM_RUNS; cancel and
 * timeout are `session/cancel`), else on a process of its own (its timeout and cancel end the process).
 */
export class AcpDriver implements SessionDriver {
  readonly id: string
  readonly capabilities = acpCapabilities

  constructor(
    private readonly config: Config,
    readonly spec: AcpAgentSpec,
    private readonly serverEnv: NodeJS.ProcessEnv = process.env,
    private readonly runner: ProcessRunner = localRunner,
  ) {
    this.id = `acp:${spec.name}`
    this.pool = new AcpPool(config.ACP_SESSIONS_PER_PROCESS, warmKeepMs)
  }

  private readonly pool: AcpPool

  /** Agent processes sessions share now. */
  get sharedProcesses(): number {
    return this.pool.sharedProcesses
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
    const command = this.spec.command
    if (!command) return null
    if (path.isAbsolute(command) || command.includes('/')) return existsSync(command) ? command : null
    return findOnPath(command, this.serverEnv.PATH)
  }

  async probe(): Promise<AgentStatus> {
    const binary = this.binary
    const authenticated =
      this.spec.flavor === 'codex-acp'
        ? codexHasCredentials(this.config, this.serverEnv)
        : this.spec.flavor === 'claude-agent-acp'
          ? claudeHasCredentials(this.config, this.serverEnv)
          : true
    const hint = !binary
      ? `${this.spec.name} is not installed: run \`npm ci\` or name its command in ACP_AGENTS`
      : !authenticated
        ? this.spec.flavor === 'codex-acp'
          ? codexAuthHint
          : 'claude-agent-acp has no credentials: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for another endpoint)'
        : null
    return {
      id: this.id,
      installed: binary !== null,
      version: this.spec.version,
      authenticated,
      hint,
      binary,
    }
  }

  async *run(req: RunRequest, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    // With a default container image (Docker mode) every run gets a container of its own: never a kept process.
    const containersByDefault = (this.config.CONTAINER_IMAGE ?? this.config.CODEX_DOCKER_IMAGE) !== undefined
    const warm = this.config.ACP_WARM_RUNS && this.config.ACP_SESSIONS_PER_PROCESS > 1
    if (warm && !containersByDefault && acpWarmable(req)) {
      const hooks = sandboxHooks(req.sandbox, req.cwd)
      const extra = { approvalPolicy: 'never' } as const
      yield* acpWarmRun(this.id, () => this.start(this.lease(req, extra, true), req.cwd, hooks), req, signal)
      return
    }
    // nobody can answer a permission request in a one-shot run; codex-acp is told not to ask (like codex exec)
    const launch = this.launch(req, { approvalPolicy: 'never' })
    const agent = new AcpProcess(this.runner, launch)
    const turn: OneShotTurn = { ok: false, error: null, finalResponse: null, endedByAgent: false }
    // timeout and abort are recorded here first, so a turn they end is not taken for the agent's own end
    let stoppedBy: EndReason | undefined
    const stop = (reason: EndReason) => {
      stoppedBy ??= reason
      agent.proc.terminate(reason)
    }
    const timer = req.timeoutMs ? setTimeout(() => stop('timed_out'), req.timeoutMs) : undefined
    const onAbort = () => stop(abortReason(signal))
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
    let consumed = false
    try {
      yield processStarted(this.id, agent.launch.command, await agent.proc.started)
      const lease = this.pool.lease(launch, false, () => agent)
      const session = await this.start(lease, req.cwd, sandboxHooks(req.sandbox, req.cwd))
      yield { type: 'agent.session', agent: this.id, agentSessionId: session.agentSessionId }
      for await (const ev of session.turn(
        [{ type: 'text', text: req.prompt }],
        new AbortController().signal,
      )) {
        if (ev.type === 'item.completed' && ev.item.type === 'agent_message')
          turn.finalResponse = ev.item.text
        if (ev.type === 'turn.completed') turn.ok = ev.status !== 'interrupted'
        if (ev.type === 'turn.failed') turn.error = ev.error
        if (ev.type === 'turn.completed' || ev.type === 'turn.failed')
          turn.endedByAgent = !agent.exited && stoppedBy === undefined
        yield ev
      }
      consumed = true
    } catch (err) {
      turn.error = errorMessage(err)
      consumed = true
    } finally {
      if (timer) clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      // a consumer that stopped early: the process group must not outlive the run
      if (!consumed) stop('client_gone')
    }
    // An agent that failed before its turn ended (crashed at start, not in the image) is ending by itself:
    // let it, so its own outcome is reported rather than the gateway's stop (`cancelled`) racing it.
    const failedEarly = turn.error !== null && !turn.endedByAgent && stoppedBy === undefined
    const outcome = await (failedEarly ? agent.close() : agent.terminate('cancelled'))
    yield acpRunCompleted(outcome, turn)
  }

  async openSession(req: SessionRequest, hooks: SessionHooks): Promise<AgentSession> {
    return this.start(this.lease(req), req.cwd, hooks)
  }

  /** `session/load`, when the agent supports it (`loadSession`). */
  async resumeSession(
    agentSessionId: string,
    req: SessionRequest,
    hooks: SessionHooks,
  ): Promise<AgentSession> {
    return this.start(this.lease(req), req.cwd, hooks, agentSessionId)
  }

  async call(method: string): Promise<unknown> {
    throw new AppError('invalid_request', `${this.id} has no agent-specific call ${method}`)
  }

  private launch(req: SessionRequest | RunRequest, extra: Partial<AcpLaunchSettings>) {
    const command = this.spec.command ?? `${this.spec.name} (not installed)`
    return acpLaunch({ ...this.spec, command }, this.config, this.serverEnv, {
      cwd: req.cwd,
      ...(req.model ? { model: req.model } : {}),
      ...(req.sandbox ? { sandbox: req.sandbox } : {}),
      ...('approvalPolicy' in req && req.approvalPolicy ? { approvalPolicy: req.approvalPolicy } : {}),
      ...(req.isolation === 'container' ? { placement: req } : {}),
      ...extra,
    })
  }

  /**
   * A session's place on an agent process. A shared process runs in the data dir, outside every session's
   * workspace (each session names its own cwd), like the codex app-server, except under workspace-write:
   * codex-acp's sandbox makes the process's cwd writable, not the session's, so such sessions share a
   * process only with sessions of the same cwd, and the process runs there.
   */
  private lease(
    req: SessionRequest | RunRequest,
    extra: Partial<AcpLaunchSettings> = {},
    warm = false,
  ): Promise<AcpLease> {
    const launch = this.launch(req, extra)
    const shareable = !launch.placement && this.config.ACP_SESSIONS_PER_PROCESS > 1
    const writesCwd = (req.sandbox ?? this.config.CODEX_SANDBOX) === 'workspace-write'
    const started = shareable && !writesCwd ? { ...launch, cwd: dataDir(this.config.DATA_DIR) } : launch
    return this.pool.lease(started, shareable, () => new AcpProcess(this.runner, started), warm)
  }

  /** Ends the processes kept ready for one-shot runs (shutdown); sessions end their own. */
  async close(): Promise<void> {
    await this.pool.close()
  }

  /** session/new (or session/load) on an initialized process; the lease is given back when either fails. */
  private async start(
    leased: Promise<AcpLease>,
    cwd: string,
    hooks: SessionHooks,
    loadId?: string,
  ): Promise<AcpSession> {
    const options = { cancellationSignal: AbortSignal.timeout(setupTimeoutMs), stopWaitingOnCancel: true }
    let lease: AcpLease | undefined
    try {
      lease = await leased
      const { agent, init } = lease
      let sessionId: string
      if (loadId) {
        if (!init.agentCapabilities?.loadSession)
          throw new AppError('invalid_request', `${this.id} cannot load a previous session`)
        // the history the agent replays arrives before the session listens: not a turn's events
        await agent.connection.agent.request(
          'session/load',
          { sessionId: loadId, cwd, mcpServers: [] },
          options,
        )
        sessionId = loadId
      } else {
        const created = await agent.connection.agent.request('session/new', { cwd, mcpServers: [] }, options)
        sessionId = created.sessionId
      }
      return new AcpSession(lease, sessionId, cwd, hooks, this.id)
    } catch (err) {
      await lease?.release(null, true)
      if (err instanceof AppError) throw err
      throw new AppError(
        'agent_failed',
        `${this.id} could not start a session: ${errorMessage(err)}`,
        undefined,
        {
          cause: err,
        },
      )
    }
  }
}
