import type { AgentEvent } from '../protocol/events.js'
import { eventBytes } from '../util/event-bytes.js'
import type { HeldOutput } from './held-output.js'

/**
 * A turn's events between its long-lived agent's reader and the turn's reader (AsyncQueue's push, close and
 * iteration), each counted in its process's HeldOutput until the turn's reader takes it. A reader that leaves
 * before the end (its iteration returned) lets go of what is queued, and of what comes later: the turn's share of
 * the bound is released, so the process's other sessions go on.
 */
export class HeldEvents implements AsyncIterable<AgentEvent> {
  private readonly items: { event: AgentEvent; bytes: number }[] = []
  /** The next item to take (items before it are taken; compacted as they pile up). */
  private head = 0
  private bytes = 0
  private closed = false
  private waiting: ((more: boolean) => void) | undefined

  constructor(private readonly held?: HeldOutput) {}

  get size(): number {
    return this.items.length - this.head
  }

  push(event: AgentEvent): void {
    if (this.closed) return
    const bytes = this.held ? eventBytes(event) : 0
    this.items.push({ event, bytes })
    if (bytes > 0) {
      this.bytes += bytes
      this.held?.add(bytes)
    }
    this.wake(true)
  }

  /** No more events: the reader takes what is queued, then the iteration ends. */
  close(): void {
    this.closed = true
    this.wake(false)
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
    try {
      while (true) {
        const item = this.items[this.head]
        if (item) {
          this.take(item.bytes)
          yield item.event
          continue
        }
        if (this.closed) return
        const more = await new Promise<boolean>((resolve) => {
          this.waiting = resolve
        })
        if (!more && this.size === 0) return
      }
    } finally {
      this.release()
    }
  }

  /** The reader left: what is queued is dropped and counted no more, and nothing more is queued. */
  private release(): void {
    this.closed = true
    if (this.bytes > 0) this.held?.take(this.bytes)
    this.bytes = 0
    this.items.length = 0
    this.head = 0
  }

  private take(bytes: number): void {
    this.head++
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
    } else if (this.head >= 1024) {
      this.items.splice(0, this.head)
      this.head = 0
    }
    if (bytes > 0) {
      this.bytes -= bytes
      this.held?.take(bytes)
    }
  }

  private wake(more: boolean): void {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.(more)
  }
}
