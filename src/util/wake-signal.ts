/**
 * Waits that end early on a signal: `delay(ms)` resolves after `ms`, or at the next `wake()` if that comes first.
 * For retries that wait on a schedule but should try again at once when what they wait for is back (the ends the
 * store refused for a full disk, tried again when a write of the store fits again: core/end-retry.ts; the events
 * held through a store outage, whose waits end when the gateway stops: core/event-log.ts). The waits
 * hold no process open.
 */
export class WakeSignal {
  private readonly waiting = new Set<() => void>()

  delay(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.waiting.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      timer.unref()
      this.waiting.add(done)
    })
  }

  /** Ends every wait now. */
  wake(): void {
    for (const done of [...this.waiting]) done()
  }

  /** How many waits are on. */
  get waits(): number {
    return this.waiting.size
  }
}
