import type { Readable } from 'node:stream'
import type { AgentEvent } from '../protocol/events.js'
import { eventBytes } from '../util/event-bytes.js'

/**
 * The most a run's driver holds of its process's events that the run has not taken yet (about their bytes,
 * eventBytes): four pipe reads. Past it the process's output is no longer read (OutputQueue).
 */
export const outputQueueMaxBytes = 256 * 1024

/**
 * Every OutputQueue's bytes and how many hold their process's output now, in this gateway process (GET /metrics:
 * `agent_gateway_agent_output_queued_bytes`, `agent_gateway_agent_output_paused`).
 */
export const outputQueues = { bytes: 0, paused: 0 }

/**
 * A one-shot process's events between its output and the run that takes them (runProcess), bounded in bytes. The
 * run waits for the store when it has too much in flight (EventPipe: STORE_OUTAGE_HELD_MAX_BYTES, an outage), or
 * does not pull at all; past `maxBytes` queued the queue holds the output: the streams given to `hold` are paused,
 * and `room()` makes a reader that awaits wait, so the process's pipe fills and the agent blocks on its write
 * instead of the gateway growing. Once the run took enough (half of `maxBytes` left), reading resumes: nothing is
 * dropped, the order is kept. `release` (the run left early) lets the output go for good: what is queued and what
 * comes later is dropped, so a process being ended can close its output and its run can end.
 */
export class OutputQueue implements AsyncIterable<AgentEvent> {
  private readonly items: { event: AgentEvent; bytes: number }[] = []
  /** The next item to take (items before it are taken; compacted as they pile up). */
  private head = 0
  private bytes = 0
  private full = false
  private closed = false
  private readonly streams: Readable[] = []
  private roomWaiters: (() => void)[] = []
  private taker: ((more: boolean) => void) | undefined

  constructor(readonly maxBytes = outputQueueMaxBytes) {}

  /** How many events are queued now. */
  get size(): number {
    return this.items.length - this.head
  }

  /** About the bytes queued now (eventBytes). */
  get queuedBytes(): number {
    return this.bytes
  }

  /** Whether the output is held now (past the bound, until the run takes enough). */
  get holding(): boolean {
    return this.full
  }

  /** A stream read with 'data' listeners: paused while the queue is past its bound. */
  hold(stream: Readable): void {
    this.streams.push(stream)
    if (this.full) stream.pause()
  }

  push(event: AgentEvent): void {
    if (this.closed) return
    const bytes = eventBytes(event)
    this.items.push({ event, bytes })
    this.bytes += bytes
    outputQueues.bytes += bytes
    this.wake(true)
    if (!this.full && this.bytes > this.maxBytes) {
      this.full = true
      outputQueues.paused++
      for (const s of this.streams) s.pause()
    }
  }

  /** Undefined while there is room; past the bound, resolves once there is again (or the queue was let go). */
  room(): Promise<void> | undefined {
    if (!this.full) return undefined
    return new Promise((resolve) => this.roomWaiters.push(resolve))
  }

  /** No more events: the run takes what is queued, then the iteration ends. */
  close(): void {
    this.closed = true
    this.wake(false)
  }

  /** The run left: everything queued is dropped, nothing more is held or queued, and the iteration ends. */
  release(): void {
    this.closed = true
    outputQueues.bytes -= this.bytes
    this.bytes = 0
    this.items.length = 0
    this.head = 0
    this.unhold()
    this.wake(false)
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
    while (true) {
      const item = this.items[this.head]
      if (item) {
        this.take(item.bytes)
        yield item.event
        continue
      }
      if (this.closed) return
      const more = await new Promise<boolean>((resolve) => {
        this.taker = resolve
      })
      if (!more && this.size === 0) return
    }
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
    this.bytes -= bytes
    outputQueues.bytes -= bytes
    if (this.full && this.bytes <= this.maxBytes / 2) this.unhold()
  }

  private unhold(): void {
    if (!this.full) return
    this.full = false
    outputQueues.paused--
    for (const s of this.streams) if (!s.destroyed) s.resume()
    const waiters = this.roomWaiters
    this.roomWaiters = []
    for (const resolve of waiters) resolve()
  }

  private wake(more: boolean): void {
    const taker = this.taker
    this.taker = undefined
    taker?.(more)
  }
}
