import type { NoticeLogger } from './fencing-notices.js'

/**
 * What the gateway tells an operator when the store fails to record a run's or a turn's end (its disk full, its
 * database down): counts the metrics read at scrape time (metrics.ts), and one log line per failed attempt. The
 * end is tried again (end-retry.ts) until it is stored or the gateway stops. The core starts before the HTTP
 * layer's logger exists: lines come once one is attached.
 */
export class StoreNotices {
  /** Attempts to record a run's or a turn's end that the store failed. */
  endFailures = 0
  private logger: NoticeLogger | undefined

  attach(logger: NoticeLogger): void {
    this.logger = logger
  }

  /** `what` (`run <id>`, `turn <id> of session <id>`) could not be recorded; tried again in `retryInMs`. */
  endFailed(what: string, ids: Record<string, string>, err: unknown, retryInMs: number | undefined): void {
    this.endFailures++
    const error = (err as Error)?.message ?? String(err)
    if (retryInMs !== undefined) {
      this.logger?.error(
        { ...ids, err: error, retryInMs },
        `recording the end of ${what} failed (${error}); trying again in ${retryInMs} ms`,
      )
      return
    }
    this.logger?.error(
      { ...ids, err: error },
      `recording the end of ${what} failed (${error}); the gateway stops: its next start records it`,
    )
  }

  /** The store refused the held events' connection (`err`): they are tried again for up to `graceMs`. */
  eventsHeld(err: unknown, graceMs: number): void {
    const error = (err as Error)?.message ?? String(err)
    this.logger?.warn(
      { err: error, graceMs },
      `the store refused a connection (${error}); runs' and turns' events are held and tried again for up to ${graceMs} ms`,
    )
  }

  /** The held events were stored after `heldMs`: runs and turns go on. */
  eventsStored(heldMs: number): void {
    this.logger?.warn(
      { heldMs: Math.round(heldMs) },
      `the store takes writes again: the held events are stored`,
    )
  }

  /** A step of the stop that the store failed (`what`): the stop goes on without it. */
  stopFailed(what: string, err: unknown): void {
    const error = (err as Error)?.message ?? String(err)
    this.logger?.error({ err: error }, `${what} failed at the stop (${error}); the stop goes on`)
  }
}
