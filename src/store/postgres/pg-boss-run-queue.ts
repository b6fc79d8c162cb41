import type pg from 'pg'
import PgBoss from 'pg-boss'
import type { RunQueue } from '../run-queue.js'
import type { PgConnections } from './pg-connections.js'

const queueName = 'agent-gateway-runs'
const pollMs = 100

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

  private constructor(private readonly boss: PgBoss) {}

  /** `connections`: where pg-boss's pool is registered, so a stop can destroy its connections (its fetch's too). */
  static async start(url: string, connections?: PgConnections): Promise<PgBossRunQueue> {
    const boss = new PgBoss({ connectionString: url, max: 4 })
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
    return new PgBossRunQueue(boss)
  }

  async send(runId: string): Promise<void> {
    await this.boss.send(queueName, { runId })
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
