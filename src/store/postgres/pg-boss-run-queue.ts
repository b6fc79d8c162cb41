import type pg from 'pg'
import PgBoss from 'pg-boss'
import { markIfStoreBusy, pgLockNotAvailable } from '../../util/store-busy.js'
import { markIfStoreUnavailable } from '../../util/store-unavailable.js'
import { JobNotSent, JobSendUnanswered, type RunQueue } from '../run-queue.js'
import type { PgConnections } from './pg-connections.js'

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

  private constructor(
    private readonly boss: PgBoss,
    private readonly sendTimeoutMs: number,
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
    const boss = new PgBoss({
      connectionString: url,
      max: 4,
      ...(bounds.lockWaitMs > 0 ? { lock_timeout: bounds.lockWaitMs } : {}),
      ...(bounds.queryTimeoutMs > 0 ? { connectionTimeoutMillis: bounds.queryTimeoutMs } : {}),
    } as PgBoss.ConstructorOptions)
    // Errors of pg-boss's own maintenance are retried by it; they must not crash the node.
    boss.on('error', () => {})
    await boss.start()
    const { pool } = boss.getDb() as unknown as { pool?: pg.Pool }
    if (pool) connections?.addPool(pool)
    if (!(await boss.getQueue(queueName)))
      await boss
        .createQueue(queueName, { name: queueName, retryLimit: 5, expireInSeconds: 60 })
        .catch(async (err) => {
          // Another node created it at the same moment.
          if (!(await boss.getQueue(queueName))) throw err
        })
    return new PgBossRunQueue(boss, bounds.queryTimeoutMs)
  }

  /**
   * One INSERT pg-boss commits on its own. A request waits for it STORE_QUERY_TIMEOUT_SECONDS at most
   * (JobSendUnanswered, 503 store_unavailable); the statement is not cut then (it may already be stored), it goes on.
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
    const ms = this.sendTimeoutMs
    if (ms <= 0) return sent
    sent.catch(() => {})
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new JobSendUnanswered(runId, ms, sent)
        markIfStoreUnavailable(err)
        reject(err)
      }, ms)
      sent.then(resolve, reject).finally(() => clearTimeout(timer))
    })
  }

  /**
   * One statement: under the cluster's lost-job lock (not got: another node checks now, nothing found), the runs
   * `queued`, unclaimed, created before `queuedBefore`, whose `run.queued` is stored (their request was answered
   * 202 or 503 at the send), with no job in pg-boss's queue that a worker may still fetch (created, retry or
   * active). Their jobs are then sent again. The lock (a transaction's, held for the statement) keeps two nodes'
   * choices apart, not a choice from another node's sends that follow it: a job sent twice so (or because its
   * first send committed meanwhile) is harmless, the store's claim hands a run to one worker only.
   */
  async resendLost(queuedBefore: Date): Promise<string[]> {
    const { rows } = await this.boss.getDb().executeSql(
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
    for (const runId of ids) await this.boss.send(queueName, { runId })
    return ids
  }

  work(room: () => number, take: (runId: string) => Promise<void>): void {
    const poll = async () => {
      while (!this.stopped) {
        const free = room()
        if (free <= 0) return
        const jobs = await this.boss.fetch<{ runId: string }>(queueName, { batchSize: free })
        if (jobs.length === 0) return
        for (const [i, job] of jobs.entries()) {
          try {
            await take(job.data.runId)
          } catch (err) {
            await this.giveBack(jobs.slice(i))
            throw err
          }
          await this.boss.complete(queueName, job.id)
        }
      }
    }
    const tick = () => {
      if (this.stopped) return
      this.working = poll()
        .catch(() => {})
        .finally(() => {
          if (!this.stopped) this.polling = setTimeout(tick, pollMs)
        })
    }
    tick()
  }

  /** Jobs this node fetched but may not take: sent again (fresh, not a retry: no retry limit used up), then done. */
  private async giveBack(jobs: PgBoss.Job<{ runId: string }>[]): Promise<void> {
    for (const job of jobs) await this.boss.send(queueName, job.data)
    await this.boss.complete(
      queueName,
      jobs.map((j) => j.id),
    )
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.polling)
    await this.working
    await this.boss.stop({ graceful: false, wait: true })
  }
}

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
