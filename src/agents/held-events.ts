import type { AgentEvent } from '../protocol/events.js'
import { eventBytes } from '../util/event-bytes.js'
import { ByteQueue } from './byte-queue.js'
import type { HeldOutput } from './held-output.js'

/**
 * A turn's events between its long-lived agent's reader and the turn's reader (AsyncQueue's push, close and
 * iteration), each counted in its process's HeldOutput until the turn's reader takes it (a ByteQueue counted
 * there). A reader that leaves before the end (its iteration returned) lets go of what is queued, and of what
 * comes later: the turn's share of the bound is released, so the process's other sessions go on.
 */
export class HeldEvents implements AsyncIterable<AgentEvent> {
  private readonly queue: ByteQueue<AgentEvent>

  constructor(held?: HeldOutput) {
    // not measured when nothing counts them
    this.queue = new ByteQueue(held ? eventBytes : () => 0, held)
  }

  get size(): number {
    return this.queue.size
  }

  push(event: AgentEvent): void {
    this.queue.push(event)
  }

  /** No more events: the reader takes what is queued, then the iteration ends. */
  close(): void {
    this.queue.close()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
    try {
      yield* this.queue
    } finally {
      this.queue.release()
    }
  }
}
