import type { Readable } from 'node:stream'
import type { AgentEvent } from '../protocol/events.js'
import { eventBytes } from '../util/event-bytes.js'
import { ByteQueue } from './byte-queue.js'
import { HeldOutput, outputQueueMaxBytes } from './held-output.js'

/**
 * A one-shot process's events between its output and the run that takes them (runProcess), bounded in bytes. The
 * run waits for the store when it has too much in flight (EventPipe: STORE_OUTAGE_HELD_MAX_BYTES, an outage), or
 * does not pull at all; past `maxBytes` queued the queue holds the output: the streams given to `hold` are paused,
 * and `room()` makes a reader that awaits wait, so the process's pipe fills and the agent blocks on its write
 * instead of the gateway growing. Once the run took enough (half of `maxBytes` left), reading resumes: nothing is
 * dropped, the order is kept. `release` (the run left early) lets the output go for good: what is queued and what
 * comes later is dropped, so a process being ended can close its output and its run can end. The events are a
 * ByteQueue's, counted in a HeldOutput of the run's own (and so in `outputQueues`).
 */
export class OutputQueue implements AsyncIterable<AgentEvent> {
  private readonly streams: Readable[] = []
  private readonly held: HeldOutput
  private readonly queue: ByteQueue<AgentEvent>

  constructor(readonly maxBytes = outputQueueMaxBytes) {
    this.held = new HeldOutput(maxBytes, (holding) => {
      for (const s of this.streams)
        if (holding) s.pause()
        else if (!s.destroyed) s.resume()
    })
    this.queue = new ByteQueue(eventBytes, this.held)
  }

  /** How many events are queued now. */
  get size(): number {
    return this.queue.size
  }

  /** About the bytes queued now (eventBytes). */
  get queuedBytes(): number {
    return this.queue.queuedBytes
  }

  /** Whether the output is held now (past the bound, until the run takes enough). */
  get holding(): boolean {
    return this.held.holding
  }

  /** A stream read with 'data' listeners: paused while the queue is past its bound. */
  hold(stream: Readable): void {
    this.streams.push(stream)
    if (this.held.holding) stream.pause()
  }

  push(event: AgentEvent): void {
    this.queue.push(event)
  }

  /** Undefined while there is room; past the bound, resolves once there is again (or the queue was let go). */
  room(): Promise<void> | undefined {
    return this.held.room()
  }

  /** No more events: the run takes what is queued, then the iteration ends. */
  close(): void {
    this.queue.close()
  }

  /** The run left: everything queued is dropped, nothing more is held or queued, and the iteration ends. */
  release(): void {
    this.queue.release()
  }

  [Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
    return this.queue[Symbol.asyncIterator]()
  }
}
