import { StoreNoAnswer } from '../util/store-unavailable.js'

/**
 * How admitted runs reach workers in a cluster: API nodes send run ids, workers take them when they have
 * room. Delivery is at least once; a worker executes a run only after winning `Store.claimRun`.
 */
export interface RunQueue {
  /**
   * Sends a run's job. Fails with JobNotSent when the job is known not to be stored, with JobSendUnanswered when
   * the queue's server did not answer in time (the send goes on: its `outcome` tells how it ended).
   */
  send(runId: string): Promise<void>
  /**
   * Starts taking runs: whenever `room()` is above zero, up to that many run ids are handed to `take`
   * (which claims the run and queues it locally) before they are acknowledged. When `take` throws (this node may
   * not claim now: NotAMember), that run and the others fetched with it go back to the queue for any worker.
   * `notices` hears of the queue's statements failing (the server hangs or cannot be reached) and answering again.
   */
  work(room: () => number, take: (runId: string) => Promise<void>, notices?: QueueWorkNotices): void
  /**
   * Sends again the jobs of the runs queued and unclaimed since before `queuedBefore` that no worker can be handed
   * (their send's outcome was unknown: its connection lost mid-statement, or the API node died before it), one
   * node's check at a time across the cluster (another's meanwhile finds nothing). Answers the runs sent again.
   */
  resendLost(queuedBefore: Date): Promise<string[]>
  /** Stops taking runs (what was taken stays taken) and closes the queue's connections. */
  stop(): Promise<void>
}

/** What a worker's use of the queue tells an operator (store-notices.ts): once a series of failed polls. */
export interface QueueWorkNotices {
  /**
   * The first poll of a series that failed: `err` names the statement (a fetch, a completion, a give-back) and why.
   * `unfinished`: jobs fetched whose completion or give-back is kept for the next poll.
   */
  failing(err: unknown, unfinished: number): void
  /** The first poll that went through after `failures` failed ones. */
  answering(failures: number): void
}

/**
 * A run's job the queue did not store, and is known not to have (PostgreSQL ended its wait for a lock another
 * client holds, or no connection could be made): no worker will ever be handed the run. `cause`: the driver's error.
 */
export class JobNotSent extends Error {
  constructor(runId: string, options: ErrorOptions) {
    super(
      `the job of run ${runId} was not sent to the workers' queue: ${(options.cause as Error).message}`,
      options,
    )
    this.name = 'JobNotSent'
  }
}

/**
 * A run's job whose send PostgreSQL did not answer within STORE_QUERY_TIMEOUT_SECONDS (the server hangs): it may
 * be stored or not. The send is not cut on the server: `outcome` settles when it ends (rejected with JobNotSent
 * when it is known not to have stored the job).
 */
export class JobSendUnanswered extends StoreNoAnswer {
  constructor(
    runId: string,
    ms: number,
    readonly outcome: Promise<void>,
  ) {
    super(`the send of run ${runId}'s job to the workers' queue`, ms)
    this.name = 'JobSendUnanswered'
  }
}
