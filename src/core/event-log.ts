import { EventEmitter } from 'node:events'
import type { AgentEvent, StoredEvent } from '../protocol/events.js'
import type { Store } from '../store/store.js'
import { AsyncQueue } from '../util/async-queue.js'

const pageSize = 500
/** Live events buffered for one slow subscriber before it falls back to re-reading the store. */
const maxBuffered = 1000

/**
 * Every event is stored, then published. A subscriber replays what is stored after its cursor, then follows
 * live events; it listens before it reads, and skips what it already sent, so it sees no gap and no duplicate.
 */
export class EventLog {
  private readonly live = new EventEmitter()

  constructor(private readonly store: Store) {
    this.live.setMaxListeners(0)
  }

  async append(runId: string, event: AgentEvent): Promise<StoredEvent> {
    const stored = await this.store.appendEvent(runId, event, new Date().toISOString())
    this.live.emit(runId, stored)
    return stored
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
    this.live.on(runId, onEvent)
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
        const batch = overflowed ? await this.store.eventsAfter(runId, last, Number.MAX_SAFE_INTEGER) : [live]
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
      this.live.off(runId, onEvent)
      signal?.removeEventListener('abort', onAbort)
    }
  }
}
