/**
 * The most a driver holds of its process's output that its run or turns have not taken yet (about their bytes,
 * eventBytes): four pipe reads. Past it the process's output is no longer read (HeldOutput, OutputQueue).
 */
export const outputQueueMaxBytes = 256 * 1024

/**
 * Every HeldOutput's bytes (a one-shot run's OutputQueue's, a long-lived process's turns') and how many hold their
 * process's output now, in this gateway process (GET /metrics: `agent_gateway_agent_output_queued_bytes`,
 * `agent_gateway_agent_output_paused`).
 */
export const outputQueues = { bytes: 0, paused: 0 }

/**
 * What a long-lived agent process (codex app-server, an ACP agent) serving several sessions has had read of its
 * output and its turns' readers have not taken yet, in bytes (eventBytes), every turn's together (HeldEvents adds
 * and takes). The process's reader asks `room()` before it reads more: past `maxBytes` it waits until the turns'
 * readers took enough (half of `maxBytes` left), so the process's pipe fills and the agent blocks on its write
 * instead of the gateway growing while its turns' events wait for the store (EventPipe: STORE_OUTAGE_HELD_MAX_BYTES,
 * an outage). Every session of the process waits then: their events could not be stored either. Counted in
 * `outputQueues`. A one-shot run's OutputQueue holds its process's output with one of its own (`holdChanged`
 * pauses and resumes the process's streams).
 *
 * What the reader waits for is only the turns' readers, which wait only for the store: nothing of it needs an answer
 * of the agent. A request of the gateway whose answer is behind the held output (an interrupt, a steer, a turn/start
 * of another session) waits with it, up to its own timeout.
 */
export class HeldOutput {
  private bytes = 0
  private full = false
  private waiters: (() => void)[] = []

  constructor(
    readonly maxBytes = outputQueueMaxBytes,
    /** Told when the output starts being held (past the bound), and when it is read again. */
    private readonly holdChanged?: (holding: boolean) => void,
  ) {}

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
      this.holdChanged?.(true)
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
    this.holdChanged?.(false)
    const waiters = this.waiters
    this.waiters = []
    for (const resolve of waiters) resolve()
  }
}
