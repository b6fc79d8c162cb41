import { outputQueueMaxBytes, outputQueues } from './output-queue.js'

/**
 * What a long-lived agent process (codex app-server, an ACP agent) serving several sessions has had read of its
 * output and its turns' readers have not taken yet, in bytes (eventBytes), every turn's together (HeldEvents adds
 * and takes). The process's reader asks `room()` before it reads more: past `maxBytes` it waits until the turns'
 * readers took enough (half of `maxBytes` left), so the process's pipe fills and the agent blocks on its write
 * instead of the gateway growing while its turns' events wait for the store (EventPipe: STORE_OUTAGE_HELD_MAX_BYTES,
 * an outage). Every session of the process waits then: their events could not be stored either. Counted in the
 * gauges of one-shot runs' OutputQueues (`agent_gateway_agent_output_queued_bytes`, `..._paused`).
 *
 * What the reader waits for is only the turns' readers, which wait only for the store: nothing of it needs an answer
 * of the agent. A request of the gateway whose answer is behind the held output (an interrupt, a steer, a turn/start
 * of another session) waits with it, up to its own timeout.
 */
export class HeldOutput {
  private bytes = 0
  private full = false
  private waiters: (() => void)[] = []

  constructor(readonly maxBytes = outputQueueMaxBytes) {}

  /** About the bytes read and not taken now. */
  get heldBytes(): number {
    return this.bytes
  }

  /** Whether the process's output is not read now (past the bound, until enough is taken). */
  get holding(): boolean {
    return this.full
  }

  add(bytes: number): void {
    this.bytes += bytes
    outputQueues.bytes += bytes
    if (!this.full && this.bytes > this.maxBytes) {
      this.full = true
      outputQueues.paused++
    }
  }

  /** Bytes taken by a turn's reader, or let go (its reader left, the turn was dropped). */
  take(bytes: number): void {
    this.bytes -= bytes
    outputQueues.bytes -= bytes
    if (this.full && this.bytes <= this.maxBytes / 2) this.resume()
  }

  /** Undefined while there is room; past the bound, resolves once there is again. */
  room(): Promise<void> | undefined {
    if (!this.full) return undefined
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  private resume(): void {
    this.full = false
    outputQueues.paused--
    const waiters = this.waiters
    this.waiters = []
    for (const resolve of waiters) resolve()
  }
}
