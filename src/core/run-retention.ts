import type { Config } from '../config/load.js'
import type { Store } from '../store/store.js'

/** Deletes finished runs older than RUN_RETENTION_DAYS: once at start, then hourly until stopped. */
export class RunRetention {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly store: Store,
    private readonly config: Config,
  ) {}

  async start(): Promise<void> {
    const days = this.config.RUN_RETENTION_DAYS
    if (days <= 0) return
    const prune = () =>
      this.store.deleteFinishedBefore(new Date(Date.now() - days * 86_400_000).toISOString())
    await prune()
    this.timer = setInterval(() => void prune().catch(() => {}), 3_600_000)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
