import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { lostJobCheckLock, PgBossRunQueue } from '../../src/store/postgres/pg-boss-run-queue.js'
import { newRun } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'

const server = sharedPostgres()

const node = { id: 'node_w', role: 'worker', host: 'h', pid: 1, startedAt: 't', heartbeatAt: 't' }

/**
 * PgBossRunQueue.resendLost, the lost-job check's statement, against a real PostgreSQL: of the runs queued and
 * unclaimed, it sends again the jobs of those admitted before the bound, whose `run.queued` is stored, with no job
 * a worker may still fetch; none while another node's check holds the cluster's lost-job lock.
 */
describe("the lost-job check's choice of runs", () => {
  it('sends again only the jobs of old, unclaimed, queued runs with none in the queue; one check at a time', async () => {
    const url = await server.createStoreDatabase()
    const store = await server.openStore(url)
    const queue = await PgBossRunQueue.start(url)
    const operator = new pg.Client({ connectionString: url })
    await operator.connect()
    try {
      await store.registerNode(node)
      const now = new Date()
      const later = new Date(now.getTime() + 60_000).toISOString()
      for (const id of ['run_claimed', 'run_done', 'run_kept', 'run_lost', 'run_unannounced'])
        await store.admitRun(newRun(id), null, 10)
      await store.admitRun(newRun('run_young', { createdAt: later }), null, 10)
      // their run.queued stored (what a 202, or a 503 at the send, follows), but run_unannounced's
      await operator.query(`UPDATE runs SET last_seq = 1 WHERE id <> 'run_unannounced'`)
      expect(await store.claimRun('run_claimed', node.id)).toBeDefined()
      await queue.send('run_kept')
      // a job no worker will fetch again (a give-back whose send failed after its job was completed)
      await queue.send('run_done')
      await operator.query(`UPDATE pgboss.job SET state = 'completed' WHERE data->>'runId' = 'run_done'`)

      // another node's check holds the lock: this one finds nothing
      await operator.query('BEGIN')
      await operator.query('SELECT pg_advisory_xact_lock($1)', [lostJobCheckLock])
      try {
        expect(await queue.resendLost(now)).toEqual([])
      } finally {
        await operator.query('ROLLBACK')
      }
      expect(await queue.resendLost(now)).toEqual(['run_done', 'run_lost'])
      const jobs = await operator.query<{ run: string; n: number }>(
        `SELECT data->>'runId' AS run, count(*)::int AS n FROM pgboss.job WHERE state < 'completed'
         GROUP BY 1 ORDER BY 1`,
      )
      expect(jobs.rows).toEqual([
        { run: 'run_done', n: 1 },
        { run: 'run_kept', n: 1 },
        { run: 'run_lost', n: 1 },
      ])
      // their jobs queued now: the next check sends nothing
      expect(await queue.resendLost(now)).toEqual([])
    } finally {
      await operator.end().catch(() => {})
      await queue.stop()
    }
  }, 30_000)
})
