import PgBoss from 'pg-boss'
import { markIfStoreBusy, pgLockNotAvailable } from '../../util/store-busy.js'
import { markIfStoreUnavailable } from '../../util/store-unavailable.js'
import { JobNotSent, JobSendUnanswered, type QueueWorkNotices, type RunQueue } from '../run-queue.js'
import { AnsweringPool } from './answering-pool.js'
import { boundedBossDb } from './pg-boss-bounded-db.js'
import { endPool, type PgConnections } from './pg-connections.js'

const queueName = 'agent-gateway-runs'
const pollMs = 100
/** The advisory lock (a constant unique to this project, see postgres-store.ts) one lost-job check holds. */
export const lostJobCheckLock = 7_265_310_004

/** The bounds of the store's own pool (PostgresStore.queryTimeoutMs, lockWaitMs), that a job's send meets too. */
export interface QueueBounds {
  /** STORE_QUERY_TIMEOUT_SECONDS in ms: how long a request waits for its run's job to be sent (0: no bound). */
  queryTimeoutMs: number
  /** Each connection's lock_timeout (0: none). */
  lockWaitMs: number
}

/**
 * The RunQueue of a PostgreSQL cluster: pg-boss (jobs in PostgreSQL, fetched with SKIP LOCKED). A job only
 * carries a run id; the run itself is in the store. A worker fetches as many jobs as it has room for, claims
 * each run, then completes the job: a worker that dies before completing leaves the job to be retried after
 * it expires, and the claim keeps a run that was already taken from running twice.
 */
export class PgBossRunQueue implements RunQueue {
  private polling: NodeJS.Timeout | undefined
  private working: Promise<void> | undefined
  private stopped = false

  /** Jobs fetched whose give-back a failed statement left undone: given back first at the next poll. */
  private toGiveBack: PgBoss.Job<RunJob>[] = []
  /** Jobs taken or given back whose completion a failed statement left undone: completed at the next poll. */
  private toComplete: string[] = []

  private constructor(
    private readonly boss: PgBoss,
    private readonly pool: AnsweringPool,
    private readonly queryTimeoutMs: number,
  ) {}

  /**
   * `connections`: where pg-boss's pool is registered, so a stop can destroy its connections (its fetch's too).
   * `bounds`: those of the store's pool; pg-boss hands its options on to its pg.Pool, so its connections get the
   * store's lock_timeout (a lock another client holds on its job table ends a send's wait with 55P03).
   */
  static async start(
    url: string,
    connections?: PgConnections,
    bounds: QueueBounds = { queryTimeoutMs: 0, lockWaitMs: 0 },
  ): Promise<PgBossRunQueue> {
    // pg-boss's statements on a pool of ours (what pg-boss's own would be), whose wait for a free connection goes
    // on while the server answers the others (answering-pool.ts): a burst of sends on a busy node is no hung server
    const pool = new AnsweringPool({
      connectionString: url,
      max: 4,
      application_name: 'pgboss',
      ...(bounds.lockWaitMs > 0 ? { lock_timeout: bounds.lockWaitMs } : {}),
      ...(bounds.queryTimeoutMs > 0 ? { connectionTimeoutMillis: bounds.queryTimeoutMs } : {}),
    })
    pool.on('error', () => {})
    connections?.addPool(pool)
    const db = { pool, executeSql: (text: string, values?: unknown[]) => pool.query(text, values) }
    const boss = new PgBoss({ db } as PgBoss.ConstructorOptions)
    // Errors of pg-boss's own maintenance are retried by it; they must not crash the node.
    boss.on('error', () => {})
    try {
      await boss.start()
    } catch (err) {
      await endPool(pool).catch(() => {})
      throw err
    }
    if (!(await boss.getQueue(queueName)))
      await boss
        .createQueue(queueName, { name: queueName, retryLimit: 5, expireInSeconds: 60 })
        .catch(async (err) => {
          // Another node created it at the same moment.
          if (!(await boss.getQueue(queueName))) throw err
        })
    return new PgBossRunQueue(boss, pool, bounds.queryTimeoutMs)
  }

  /**
   * One INSERT pg-boss commits on its own. A request waits for it STORE_QUERY_TIMEOUT_SECONDS at most while the
   * server answers none of the pool's statements (JobSendUnanswered, 503 store_unavailable): a send waiting its turn
   * for a connection while the others are answered (a burst on a busy node) waits on. The statement is not cut then
   * (it may already be stored), it goes on.
   */
  send(runId: string): Promise<void> {
    const sent = this.boss.send(queueName, { runId }).then(
      () => undefined,
      (err: unknown) => {
        markIfStoreBusy(err)
        markIfStoreUnavailable(err)
        throw neverStored(err) ? new JobNotSent(runId, { cause: err }) : err
      },
    )
    const ms = this.queryTimeoutMs
    if (ms <= 0) return sent
    sent.catch(() => {})
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const wait = (answered: number) => {
        timer = setTimeout(() => {
          if (this.pool.answeredCount !== answered) return wait(this.pool.answeredCount)
          const err = new JobSendUnanswered(runId, ms, sent)
          markIfStoreUnavailable(err)
          reject(err)
        }, ms)
      }
      wait(this.pool.answeredCount)
      sent.then(resolve, reject).finally(() => clearTimeout(timer))
    })
  }

  /**
   * One statement: under the cluster's lost-job lock (not got: another node checks now, nothing found), the runs
   * `queued`, unclaimed, created before `queuedBefore`, whose `run.queued` is stored (their request was answered
   * 202 or 503 at the send), with no job in pg-boss's queue that a worker may still fetch (created, retry or
   * active). Their jobs are then sent again. The lock (a transaction's, held for the statement) keeps two nodes'
   * choices apart, not a choice from another node's sends that follow it: a job sent twice so (or because its
   * first send committed meanwhile) is harmless, the store's claim hands a run to one worker only. The statement and
   * each send are bounded by STORE_QUERY_TIMEOUT_SECONDS (a hung server: StoreNoAnswer; the next check goes on).
   */
  async resendLost(queuedBefore: Date): Promise<string[]> {
    const { rows } = await this.bounded("the lost-job check's query").executeSql(
      `WITH turn AS (SELECT pg_try_advisory_xact_lock(${lostJobCheckLock}) AS mine)
       SELECT r.id FROM turn, runs r
       WHERE turn.mine AND r.status = 'queued' AND r.claimed_at IS NULL AND r.node_id IS NULL AND r.last_seq > 0
         AND r.created_at < $2
         AND NOT EXISTS (SELECT 1 FROM pgboss.job j WHERE j.name = $1 AND j.data->>'runId' = r.id
                           AND j.state < 'completed')
       ORDER BY r.id`,
      [queueName, queuedBefore.toISOString()],
    )
    const ids = (rows as { id: string }[]).map((r) => r.id)
    for (const runId of ids)
      await this.boss.send(
        queueName,
        { runId },
        { db: this.bounded(`the lost-job check's send of run ${runId}'s job`) },
      )
    return ids
  }

  /**
   * Polls every 0.1 s while there is room. Every statement is bounded by STORE_QUERY_TIMEOUT_SECONDS (a hung server
   * fails it with StoreNoAnswer, so a poll always ends): a fetch cut so may still take jobs once the server wakes
   * (pg-boss hands them out again once they expire); a completion or give-back that failed is kept and finished
   * first at the next poll, before anything more is fetched.
   */
  work(room: () => number, take: (runId: string) => Promise<void>, notices?: QueueWorkNotices): void {
    let failures = 0
    const poll = async () => {
      await this.finishUnfinished()
      while (!this.stopped) {
        const free = room()
        if (free <= 0) return
        const jobs = await this.fetch(free)
        if (jobs.length === 0) return
        for (const [i, job] of jobs.entries()) {
          try {
            await take(job.data.runId)
          } catch (err) {
            this.toGiveBack.push(...jobs.slice(i))
            await this.finishUnfinished()
            throw err
          }
          this.toComplete.push(job.id)
          try {
            await this.finishUnfinished()
          } catch (err) {
            // the server fails now: the rest are given back at the next poll, not claimed meanwhile
            this.toGiveBack.push(...jobs.slice(i + 1))
            throw err
          }
        }
      }
    }
    const tick = () => {
      if (this.stopped) return
      this.working = poll()
        .then(
          () => {
            if (failures > 0) notices?.answering(failures)
            failures = 0
          },
          (err: unknown) => {
            // a run this node may not claim (NotAMember) is no failure of the queue
            if (!isQueueFailure(err)) return
            if (failures++ === 0) notices?.failing(err, this.toGiveBack.length + this.toComplete.length)
          },
        )
        .finally(() => {
          if (!this.stopped) this.polling = setTimeout(tick, pollMs)
        })
    }
    tick()
  }

  /** Up to `batchSize` jobs, made active. pg-boss's fetch swallows its statement's failure: heard here, thrown. */
  private async fetch(batchSize: number): Promise<PgBoss.Job<RunJob>[]> {
    const db = this.bounded("a worker's fetch of runs' jobs from the workers' queue")
    let failed: { err: unknown } | undefined
    const jobs = await this.boss.fetch<RunJob>(queueName, {
      batchSize,
      db: {
        executeSql: (text, values) =>
          db.executeSql(text, values).catch((err: unknown) => {
            failed = { err }
            throw err
          }),
      },
    })
    if (failed) throw new QueueStatementFailed(failed.err)
    return jobs
  }

  /**
   * Gives back the jobs this node fetched but may not take (sent again: fresh, not a retry, no retry limit used up),
   * then completes them and those taken. A failed statement leaves the rest for the next poll: a give-back sent
   * but not known to be (cut) may be sent again, a second job for the run is harmless (the claim takes it once).
   */
  private async finishUnfinished(): Promise<void> {
    try {
      for (let job = this.toGiveBack[0]; job; job = this.toGiveBack[0]) {
        await this.boss.send(queueName, job.data, {
          db: this.bounded(`the give-back of run ${job.data.runId}'s job to the workers' queue`),
        })
        this.toGiveBack.shift()
        this.toComplete.push(job.id)
      }
      if (this.toComplete.length === 0) return
      const ids = [...this.toComplete]
      // pg-boss reads a completion's options from its fourth argument (its types name no such form for ids)
      const complete = this.boss.complete.bind(this.boss) as unknown as (
        ...args: [string, string[], null, PgBoss.ConnectionOptions]
      ) => Promise<void>
      await complete(queueName, ids, null, { db: this.bounded(`the completion of ${ids.length} run job(s)`) })
      this.toComplete = this.toComplete.filter((id) => !ids.includes(id))
    } catch (err) {
      throw new QueueStatementFailed(err)
    }
  }

  /** pg-boss's statements on its pool, bounded by STORE_QUERY_TIMEOUT_SECONDS (StoreNoAnswer naming `what`). */
  private bounded(what: string): PgBoss.Db {
    return boundedBossDb(this.pool, this.queryTimeoutMs, what)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.polling)
    await this.working
    await this.boss.stop({ graceful: false, wait: true })
    // ours, not pg-boss's: it ends no pool it was given
    await endPool(this.pool)
  }
}

/** The job a run's id travels in. */
interface RunJob {
  runId: string
}

/** A statement of a worker's poll on the queue that failed (`cause`): the server hangs or cannot be reached. */
class QueueStatementFailed extends Error {
  constructor(cause: unknown) {
    super((cause as Error)?.message ?? String(cause), { cause })
    this.name = 'QueueStatementFailed'
  }
}

const isQueueFailure = (err: unknown): err is QueueStatementFailed => err instanceof QueueStatementFailed

/**
 * Whether a send's failure says the job was not stored: PostgreSQL ended its wait for a lock (55P03: the statement
 * failed, nothing committed) or no connection could be made for it. A connection lost mid-statement says nothing.
 */
function neverStored(err: unknown): boolean {
  if (pgLockNotAvailable(err)) return true
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  return (
    code === 'ECONNREFUSED' ||
    code === 'ENOENT' ||
    code === '57P03' ||
    code === '53300' ||
    message === 'timeout exceeded when trying to connect'
  )
}
