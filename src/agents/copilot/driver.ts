import { randomUUID } from 'node:crypto'
import type { Config } from '../../config/load.js'
import { localRunner } from '../../process/local-runner.js'
import type { ProcessRunner } from '../../process/runner.js'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import { resolveModel } from '../../protocol/models.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { runNotStarted } from '../../protocol/run-completed.js'
import { CliAgentDriver, type CliCredentials } from '../cli-agent-driver.js'
import { capabilities, type RunRequest } from '../driver.js'
import { type Placement, placed, placedImages } from '../placement.js'
import { runProcess } from '../process-run.js'
import type { AgentSession, SessionDriver, SessionHooks, SessionRequest } from '../session.js'
import { type CopilotInvocation, copilotArgs } from './args.js'
import { resolveCopilotBinary } from './binary.js'
import { copilotAuthHint, copilotEnv, copilotHasCredentials, copilotInstallHint } from './env.js'
import { createCopilotMapper } from './mapper.js'
import { CopilotSession } from './session.js'

export interface CopilotDriverOptions {
  /**
   * Model request failures tolerated before a run is given up and failed. copilot retries a failed model
   * request 5 times with backoff (about 17 s) and has no setting for it; undefined keeps copilot's behaviour.
   */
  maxModelRetries?: number
  /** Where copilot runs (default: a local process group). */
  runner?: ProcessRunner
  /** Sandbox when a request names none (default read-only). */
  defaultSandbox?: SandboxMode
}

/** What one copilot process needs: the invocation plus where and how long it runs. */
export type CopilotExecution = CopilotInvocation & Placement & { cwd: string; timeoutMs?: number | null }

export const copilotCapabilities = capabilities('sessions', 'interrupt', 'images')

/**
 * GitHub Copilot CLI: `copilot -p --output-format json`, one process per run or session turn; a session is
 * copilot's own (`--session-id` on the first turn, `--resume` after). No approvals: see copilot/permissions.ts.
 */
export class CopilotDriver extends CliAgentDriver implements SessionDriver {
  readonly id = 'copilot'
  readonly capabilities = copilotCapabilities
  /** `copilot -p` refuses an empty prompt ("No prompt provided"), attachments or not. */
  readonly imagesNeedText = true
  protected override readonly pinnedPackages = [
    '@github/copilot',
    `@github/copilot-${process.platform}-${process.arch}`,
  ]

  constructor(
    config: Config,
    serverEnv: NodeJS.ProcessEnv = process.env,
    private readonly options: CopilotDriverOptions = {},
  ) {
    super(config, serverEnv, options.runner ?? localRunner)
  }

  protected findBinary(config: Config): string | null {
    return resolveCopilotBinary(config.COPILOT_PATH)
  }

  childEnv(inContainer = false): Record<string, string> {
    return copilotEnv(this.config, this.serverEnv, inContainer, this.runner)
  }

  protected credentials(): CliCredentials {
    return {
      authenticated: copilotHasCredentials(this.config, this.serverEnv),
      installHint: copilotInstallHint,
      authHint: copilotAuthHint,
    }
  }

  /** The model a request asks for; none (or `auto`) leaves it to COPILOT_MODEL in the env. */
  model(requested?: string): string | undefined {
    return resolveModel(requested)
  }

  sandbox(requested?: SandboxMode): SandboxMode {
    return requested ?? this.options.defaultSandbox ?? 'read-only'
  }

  run(req: RunRequest, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    return this.execute(
      {
        prompt: req.prompt,
        cwd: req.cwd,
        model: this.model(req.model),
        sandbox: this.sandbox(req.sandbox),
        images: req.images,
        timeoutMs: req.timeoutMs ?? null,
        ...placed(req, 'copilot'),
      },
      signal,
    )
  }

  /** One copilot process: `run.started`, mapped events, exactly one `run.completed`; never throws. */
  async *execute(exec: CopilotExecution, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    if (!this.binary) {
      yield { type: 'run.started', agent: this.id }
      yield runNotStarted(copilotInstallHint)
      return
    }
    // in a container, copilot reads the images' copies where the container mounts them
    const images = placedImages(exec.images, exec.isolation === 'container')
    const giveUp = new AbortController()
    const mapper = createCopilotMapper({
      agent: this.id,
      maxModelRetries: this.options.maxModelRetries,
      onGiveUp: () => giveUp.abort('cancelled'),
    })
    const events = runProcess(
      {
        agent: this.id,
        runner: this.runner,
        spawn: {
          command: this.binary,
          args: copilotArgs(images.paths ? { ...exec, images: images.paths } : exec),
          cwd: exec.cwd,
          // COPILOT_HOME (sessions, settings) is mounted so a session's turns share it across containers
          ...placed(
            exec,
            'copilot',
            [this.serverEnv.COPILOT_HOME, ...images.mounts],
            exec.sandbox !== 'read-only',
          ),
          env: this.childEnv(exec.isolation === 'container'),
          timeoutMs: exec.timeoutMs ?? null,
          killGraceMs: this.config.KILL_GRACE_MS,
          // a command's daemon (setsid, a double fork) leaves the group: it ends with the process
          sweepLeftovers: true,
        },
        stdout: { mode: 'lines', mapper },
      },
      AbortSignal.any([signal, giveUp.signal]),
    )
    for await (const ev of events) {
      // Ended by us because the model kept failing: that is the agent's failure, not a cancel.
      if (ev.type === 'run.completed' && mapper.gaveUp() && !signal.aborted)
        yield { ...ev, status: 'failed', error: mapper.failure() ?? ev.error }
      else yield images.shown(ev)
    }
  }

  /** copilot -p asks for no approvals, so `hooks` is never called. */
  async openSession(req: SessionRequest, _hooks?: SessionHooks): Promise<AgentSession> {
    return new CopilotSession(this, req, randomUUID(), false)
  }

  async resumeSession(
    agentSessionId: string,
    req: SessionRequest,
    _hooks?: SessionHooks,
  ): Promise<AgentSession> {
    return new CopilotSession(this, req, agentSessionId, true)
  }

  async call(method: string): Promise<unknown> {
    throw new AppError('invalid_request', `copilot has no method ${method}`)
  }
}
