import { notStarted } from './not-started.js'
import type { LaunchSpec, Leftover, ProcessRunner, RunnerInfo, RunningProcess } from './runner.js'

/**
 * The runner the gateway injects into its drivers: each launch goes where its `isolation` says, a local
 * process group by default or a container when one is configured. Without a container runner, a container
 * launch fails as `spawn_failed` (the API refuses such requests before they get here).
 */
export class RoutingRunner implements ProcessRunner {
  readonly kind = 'local'

  constructor(
    readonly local: ProcessRunner,
    readonly container?: ProcessRunner,
    /** Whether a container image is configured (CONTAINER_IMAGE or CODEX_DOCKER_IMAGE). */
    private readonly containersConfigured = container !== undefined,
  ) {}

  start(spec: LaunchSpec): RunningProcess {
    if (spec.isolation === 'container') {
      if (this.container) return this.container.start(spec)
      return notStarted(
        'container isolation is not configured on this server (CONTAINER_ENGINE, CONTAINER_IMAGE)',
      )
    }
    return this.local.start(spec)
  }

  async reclaim(leftover?: Leftover): Promise<boolean> {
    const local = await this.local.reclaim(leftover)
    const container = leftover ? false : ((await this.container?.reclaim()) ?? false)
    return local || container
  }

  /** Local processes, and the container engine when an image is configured (for /health and /v1/agents). */
  async describe(): Promise<RunnerInfo> {
    const local = await this.local.describe()
    // the engine is asked only when containers are configured: /health must not spawn otherwise
    const container = this.containersConfigured ? ((await this.container?.describe()) ?? null) : null
    return { ...local, container }
  }
}
