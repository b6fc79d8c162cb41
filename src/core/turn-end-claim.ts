/**
 * Who records a running turn's end, once: the turn itself (its agent ended it: turn-execution.ts runTurn) or the
 * force (its agent did not stop within its bound after an interrupt or the stop's abort: turn-queue.ts).
 * Whichever claims it first records it; the other records nothing.
 */
export class TurnEndClaim {
  private by: 'agent' | 'force' | undefined
  private readonly forcing = new AbortController()

  /** Aborted once the force claimed the end: the turn's execution reads and stores nothing more of its agent. */
  get forced(): AbortSignal {
    return this.forcing.signal
  }

  /** Whether either end is the one recorded (being stored, or tried again while the store refuses it). */
  get claimed(): boolean {
    return this.by !== undefined
  }

  /** The agent's end is to be recorded; false when the force recorded the turn's end already. */
  byAgent(): boolean {
    this.by ??= 'agent'
    return this.by === 'agent'
  }

  /** The force is to record the end; false when the agent's end is being recorded (or the force's already). */
  byForce(): boolean {
    if (this.by) return false
    this.by = 'force'
    this.forcing.abort()
    return true
  }
}
