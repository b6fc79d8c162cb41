import { Redactor } from '../process/secrets.js'
import type { AgentEvent, StoredEvent } from '../protocol/events.js'
import { type EventBus, InProcessEventBus } from '../store/event-bus.js'
import type { Store } from '../store/store.js'
import { AsyncQueue } from '../util/async-queue.js'

const pageSize = 500
/** Live events buffered for one slow subscriber before it falls back to re-reading the store. */
const maxBuffered = 1000

/**
 * Every event is stored, then published on the EventBus. A subscriber replays what is stored after its cursor,
 * then follows live events; it listens before it reads, and skips what it already sent, so it sees no gap and
 * no duplicate, whichever process published.
 */
export class EventLog {
  private readonly taps: ((ev: StoredEvent) => void)[] = []

  /** `redactor` replaces the gateway's secret values in every event before it is stored or published. */
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus = new InProcessEventBus(),
    readonly redactor: Redactor = new Redactor([]),
  ) {}

  /** The event with every known secret value replaced (the last line of defence; agents are told first). */
  redact<E extends AgentEvent>(event: E): E {
    return this.redactor.value(event)
  }

  async append(runId: string, event: AgentEvent): Promise<StoredEvent> {
    const stored = await this.store.appendEvent(runId, this.redact(event), new Date().toISOString())
    this.bus.publish(runId, stored)
    for (const tap of this.taps) tap(stored)
    return stored
  }

  /** Sees every event once it is stored (metrics, webhooks, logs); a tap must not throw or block. */
  tap(listener: (ev: StoredEvent) => void): void {
    this.taps.push(listener)
  }

  /** Every stored event of an owner, in order (no live part). */
  async *replay(ownerId: string): AsyncGenerator<StoredEvent> {
    let last = 0
    while (true) {
      const page = await this.store.eventsAfter(ownerId, last, pageSize)
      yield* page
      if (page.length < pageSize) return
      last = page.at(-1)!.seq
    }
  }

  /**
   * Events of `runId` with seq > `after`, ending after the terminal event (`isTerminal`), or at once when the
   * run is already finished (`isFinished`) and nothing is left to send. `signal` detaches the subscriber.
   */
  async *subscribe(
    runId: string,
    after: number,
    isTerminal: (ev: StoredEvent) => boolean,
    isFinished: () => Promise<boolean>,
    signal?: AbortSignal,
  ): AsyncGenerator<StoredEvent> {
    const queue = new AsyncQueue<StoredEvent>()
    let overflowed = false
    // A subscriber that does not keep up must not hold a run's output in memory: everything is in the store,
    // so past a bound its buffer is dropped and it catches up from there.
    const onEvent = (ev: StoredEvent) => {
      if (queue.size >= maxBuffered) {
        overflowed = true
        queue.clear()
      }
      queue.push(ev)
    }
    const onAbort = () => queue.close()
    const unsubscribe = this.bus.subscribe(runId, onEvent)
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      let last = after
      while (!signal?.aborted) {
        const page = await this.store.eventsAfter(runId, last, pageSize)
        for (const ev of page) {
          yield ev
          last = ev.seq
          if (isTerminal(ev)) return
        }
        if (page.length < pageSize) break
      }
      if (await isFinished()) {
        // It may have finished after the replay read: send whatever was stored since, then stop.
        for (const ev of await this.store.eventsAfter(runId, last, Number.MAX_SAFE_INTEGER)) yield ev
        return
      }
      for await (const live of queue) {
        // Past the buffer bound, or a live event beyond the next seq (a bus across processes may skip or
        // reorder): read what is missing from the store.
        const behind = overflowed || live.seq > last + 1
        const batch = behind ? await this.store.eventsAfter(runId, last, Number.MAX_SAFE_INTEGER) : [live]
        overflowed = false
        for (const ev of batch) {
          // A reader that resumed past the end of a live run still ends with it.
          if (ev.seq <= last && isTerminal(ev)) return
          if (ev.seq <= last) continue
          yield ev
          last = ev.seq
          if (isTerminal(ev)) return
        }
      }
    } finally {
      unsubscribe()
      signal?.removeEventListener('abort', onAbort)
    }
  }
}
