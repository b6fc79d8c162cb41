import type { RunQueue } from '../store/run-queue.js'

/**
 * The backstop for a run an API node stored `queued` whose job may never have reached the workers' queue: its
 * send's connection lost mid-statement (the job stored or not: unknown), or the API node gone between the two.
 * Nothing else sends its job again (recovery takes over runs that have an owner only), so every `everyMs` a node
 * of the cluster (one at a time: RunQueue.resendLost) sends again the job of each run queued and unclaimed for
 * `ageMs` with none in the queue. `ageMs` is kept above twice a send's bound, so a send that is merely slow has
 * ended first; a job sent twice anyway is harmless (a run is claimed once, Store.claimRun).
 */
export class LostJobCheck {
  private timer: NodeJS.Timeout | undefined
  private checking: Promise<void> | undefined

  constructor(
    private readonly queue: RunQueue,
    private readonly ageMs: number,
    /** Told of the runs whose jobs a check sent again (logs). */
    private readonly resent: (runIds: string[]) => void = () => {},
    /** Told of a check that failed (logs): its query and sends are bounded by STORE_QUERY_TIMEOUT_SECONDS. */
    private readonly failed: (err: unknown, everyMs: number) => void = () => {},
  ) {}

  /** One check now (the one in flight, when there is one). */
  check(): Promise<void> {
    if (this.checking) return this.checking
    const checking = this.queue
      .resendLost(new Date(Date.now() - this.ageMs))
      .then((ids) => {
        if (ids.length > 0) this.resent(ids)
      })
      .finally(() => {
        this.checking = undefined
      })
    this.checking = checking
    return checking
  }

  start(everyMs: number): void {
    if (everyMs <= 0) return
    // a check that fails (the store hangs or is unreachable) is made again at the next one
    this.timer = setInterval(
      () => void this.check().catch((err: unknown) => this.failed(err, everyMs)),
      everyMs,
    )
    this.timer.unref()
  }

  /** No more checks; resolves once the one in flight settled. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.checking?.catch(() => {})
  }
}

/** How long a run stays queued without a job before its job is sent again: the check's period, twice a send's bound. */
export function lostJobAgeMs(checkSeconds: number, sendBoundSeconds: number): number {
  return Math.max(checkSeconds, 2 * sendBoundSeconds) * 1000
}
