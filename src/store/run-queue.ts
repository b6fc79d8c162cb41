/**
 * How admitted runs reach workers in a cluster: API nodes send run ids, workers take them when they have
 * room. Delivery is at least once; a worker executes a run only after winning `Store.claimRun`.
 */
export interface RunQueue {
  send(runId: string): Promise<void>
  /**
   * Starts taking runs: whenever `room()` is above zero, up to that many run ids are handed to `take`
   * (which claims the run and queues it locally) before they are acknowledged. When `take` throws (this node may
   * not claim now: NotAMember), that run and the others fetched with it go back to the queue for any worker.
   */
  work(room: () => number, take: (runId: string) => Promise<void>): void
  /** Stops taking runs (what was taken stays taken) and closes the queue's connections. */
  stop(): Promise<void>
}
