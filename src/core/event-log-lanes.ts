/** One serial flush of the EventLog: its queue, whether it is committing now, when it last committed. */
export interface Lane<E> {
  readonly queue: E[]
  flushing: boolean
  /** When its last commit ended (performance.now()). */
  lastCommit: number
  /** Its entries queued or being committed (the owners pinned to it count them). */
  pending: number
}

/**
 * The EventLog's queues: one per lane, each with its own serial flush, so that on a store where a commit costs
 * round trips (PostgreSQL) several transactions run at once instead of one after the other. An owner's entries
 * (events, store steps) go to one lane while any of them is queued or being committed there, so they keep their
 * order and their seqs, and two lanes never hold the same owner (their transactions lock different owner rows). An
 * owner with nothing in flight goes to the lane with the fewest entries (the first of those), so a busy owner does
 * not slow the others. With one lane (SQLite: one writer) every entry goes to it and nothing is counted.
 */
export class EventLanes<E extends { ownerId: string }> {
  readonly all: readonly Lane<E>[]
  /** The lane of each owner with entries queued or being committed, and how many. */
  private readonly owners = new Map<string, { lane: Lane<E>; pending: number }>()
  private idleWaiters: (() => void)[] = []

  constructor(count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`EventLanes: ${count} lanes`)
    this.all = Array.from({ length: count }, () => ({
      queue: [],
      flushing: false,
      lastCommit: Number.NEGATIVE_INFINITY,
      pending: 0,
    }))
  }

  /** Queues `entry` on its owner's lane; that lane. */
  push(entry: E): Lane<E> {
    const lane = this.all.length === 1 ? this.all[0]! : this.pin(entry.ownerId)
    lane.queue.push(entry)
    return lane
  }

  private pin(ownerId: string): Lane<E> {
    const owner = this.owners.get(ownerId)
    if (owner) {
      owner.pending++
      owner.lane.pending++
      return owner.lane
    }
    let lane = this.all[0]!
    for (const l of this.all) if (l.pending < lane.pending) lane = l
    lane.pending++
    this.owners.set(ownerId, { lane, pending: 1 })
    return lane
  }

  /**
   * `entries` (taken off a lane's queue) are committed and published, or failed: an owner with nothing left in
   * its lane may go to another one now, its next entry coming after these anyway.
   */
  settled(entries: readonly E[]): void {
    if (this.all.length === 1) return
    for (const { ownerId } of entries) {
      const owner = this.owners.get(ownerId)
      if (!owner) continue
      owner.lane.pending--
      if (--owner.pending === 0) this.owners.delete(ownerId)
    }
  }

  /** Entries queued and not yet being committed, over all lanes. */
  get backlog(): number {
    let n = 0
    for (const lane of this.all) n += lane.queue.length
    return n
  }

  /** Whether nothing is queued or being committed. */
  get idle(): boolean {
    return this.all.every((lane) => lane.queue.length === 0 && !lane.flushing)
  }

  /** Resolves once nothing is queued or being committed (checked again whenever a lane stops flushing). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** A lane stopped flushing: wakes whoever waits for all of them to be idle. */
  stopped(): void {
    if (this.idleWaiters.length === 0 || !this.idle) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }
}
