import type { AgentEvent } from '../protocol/events.js'
import type { EventFence } from '../store/store.js'
import { eventBytes } from '../util/event-bytes.js'
import type { EventLog } from './event-log.js'

/** Events in flight (queued, not yet stored) before `push` waits for the store. */
const maxInFlight = 1000

/**
 * Appends one owner's stream of events (an agent's output) without waiting for each to be stored, so the
 * events that arrive together share a group commit. Order is kept (the log stores in append order);
 * `drain` waits until all are stored and throws the first store error. Its events are held through a brief store
 * outage (EventLog.outageGraceMs): while the log holds, each push waits for its event to be stored, so its producer
 * stops reading the agent's output and what is held stays what was in flight when the outage began. What is in
 * flight is bounded in events (per pipe) and in bytes (EventLog.pipedBytes, every pipe's together): a few events of
 * megabytes (a command's output in an item) fill memory long before a thousand.
 */
export class EventPipe {
  private last: Promise<unknown> = Promise.resolve()
  private inFlight = 0
  private error: unknown

  constructor(
    private readonly log: EventLog,
    private readonly ownerId: string,
    /** The owner's fence this node holds (a session's claim, a run's node): every event carries it (EventLog.append). */
    private readonly fence?: EventFence,
    /** Told of the first store error as soon as it comes (not only at the next push or at drain). */
    private readonly onError?: (err: unknown) => void,
  ) {}

  /**
   * Queues the event. Returns a promise only when the caller must wait (too many events, or bytes, in flight) or a store
   * error refuses it (rejected with the first one), so a producer spends no await per event otherwise.
   */
  push(event: AgentEvent): Promise<void> | undefined {
    if (this.error !== undefined) return Promise.reject(this.error)
    this.inFlight++
    const bytes = eventBytes(event)
    this.log.pipedBytes += bytes
    const settled = () => {
      this.inFlight--
      this.log.pipedBytes -= bytes
    }
    const appended = this.log.append(this.ownerId, event, this.fence, true).then(settled, (err: unknown) => {
      settled()
      if (this.error !== undefined) return
      this.error = err
      this.onError?.(err)
    })
    this.last = appended
    // past either bound, the producer waits for this event to be stored: every pipe, past the bytes (all pipes' events
    // together), holds at most the one it waits for beyond it
    const full =
      this.inFlight >= maxInFlight || this.log.holding || this.log.pipedBytes > this.log.maxPipedBytes()
    return full ? appended : undefined
  }

  /** Whether an event was refused (the first store error came): nothing pushed since is stored. */
  get failed(): boolean {
    return this.error !== undefined
  }

  async drain(): Promise<void> {
    await this.last
    if (this.error !== undefined) throw this.error
  }
}
