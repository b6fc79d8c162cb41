import type { Mount } from '../../process/runner.js'
import type { AppServerHost } from './app-server-host.js'

/**
 * An app-server that belongs to some sessions only (a session in its own container, and the forks made from
 * it): each holder releases it when it closes, and the last release ends it (its container with it).
 */
export class HostLease {
  private holders = 0
  private ended: Promise<void> | undefined

  constructor(
    readonly host: AppServerHost,
    /** Run once the app-server ended (its container gone); its end waits for it. */
    private readonly onEnd: () => void | Promise<void> = () => {},
    /** The directory its container mounts for the sessions' turn images (AgentSession.imageDir) and where. */
    readonly images?: Mount,
  ) {}

  /** The host directory the core copies the sessions' turn images into (AgentSession.imageDir). */
  get imageDir(): string | undefined {
    return this.images?.path
  }

  acquire(): this {
    this.holders++
    return this
  }

  release(): Promise<void> {
    this.holders = Math.max(0, this.holders - 1)
    if (this.holders > 0) return Promise.resolve()
    return this.end()
  }

  /** Ends the app-server now, whoever still holds it (gateway shutdown). */
  end(): Promise<void> {
    this.ended ??= this.host.close().finally(this.onEnd)
    return this.ended
  }
}
