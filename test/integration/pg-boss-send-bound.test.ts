import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { freezeOnStatement } from '../support/postgres-freeze.js'
import { signalPostgres } from '../support/postgres-signals.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { within } from '../support/stubborn-agent.js'

// a server of its own: the last test freezes it (SIGSTOP), which every other file on a shared server would feel
const server = sharedPostgres({ ownServer: true })
const freeze = () => signalPostgres(server.ownServer().dir, 'SIGSTOP')
const thaw = () => signalPostgres(server.ownServer().dir, 'SIGCONT')

gatewayModules()

interface ErrorBody {
  error: { code: string; message: string }
}

/** pg-boss's own database adapter of an API node's queue (its statements: `executeSql`; its pool). */
const bossDbOf = (gw: TestGateway) =>
  (
    gw.ctx.runs as unknown as {
      cluster: {
        queue: {
          boss: { getDb(): { pool: pg.Pool; executeSql(text: string, values?: unknown[]): Promise<unknown> } }
        }
      }
    }
  ).cluster.queue.boss.getDb()

/**
 * An API node (GATEWAY_ROLE api) sends a run's job through pg-boss's own pool. That send meets the store's bounds:
 * a lock another client holds on pg-boss's job table ends it with PostgreSQL's 55P03 (each of its connections has
 * the store's lock_timeout): 503 store_busy, and the run (no job: no worker would ever take it) is recorded failed,
 * not left queued. A server that hangs answers 503 store_unavailable after STORE_QUERY_TIMEOUT_SECONDS; the send
 * goes on and, once the server answers, a worker can take the run. Before, both requests waited as long as the
 * lock or the freeze lasted, and a send that failed left the run queued for good.
 */
describe("an API node's send of a run's job to pg-boss", () => {
  let gw: TestGateway
  let url: string
  let operator: pg.Client
  beforeAll(async () => {
    url = await server.createStoreDatabase()
    gw = await startGateway(null, {
      DATABASE_URL: url,
      GATEWAY_ROLE: 'api',
      CLI_LIST: 'sh',
      STORE_QUERY_TIMEOUT_SECONDS: '2',
    })
    operator = new pg.Client({ connectionString: url })
    await operator.connect()
  })
  afterAll(async () => {
    await operator?.end().catch(() => {})
    await gw?.close()
  })

  const submit = () =>
    postJson(`${gw.url}/v1/runs`, { agent: 'cli', command: { cli: 'sh', args: ['-c', 'true'] } })
  const runIds = async () =>
    (await operator.query<{ id: string }>('SELECT id FROM runs ORDER BY id')).rows.map((r) => r.id)

  it('its job table locked by another client: 503 store_busy with Retry-After, the run recorded failed', async () => {
    const before = await runIds()
    await operator.query('BEGIN')
    await operator.query('LOCK TABLE pgboss.job IN ACCESS EXCLUSIVE MODE')
    let res: Response
    try {
      // before: the send waited for the lock as long as it was held
      const answered = await within(submit(), 20_000, 'the answer while the lock is held')
      expect(answered).toBeInstanceOf(Response)
      res = answered as Response
    } finally {
      await operator.query('ROLLBACK')
    }
    const body = (await res.json()) as ErrorBody
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 503, code: 'store_busy' })
    expect(res.headers.get('retry-after')).toBe('5')
    const [id] = (await runIds()).filter((r) => !before.includes(r))
    expect(id).toBeDefined()
    // its job was never stored: recorded failed (before: left queued, no worker ever handed it)
    const ended = await within(gw.ctx.runs.wait(id!), 20_000, 'the run to end')
    expect(ended).toMatchObject({ status: 'failed' })
    expect((ended as Run).error).toMatch(/was not sent to the workers' queue: .*lock/)
    // once the lock is let go, the same request goes through
    const again = await submit()
    expect(again.status).toBe(202)
  })

  it('a server that hangs (SIGSTOP) at the send: 503 store_unavailable; the job is stored once it answers', async () => {
    const db = bossDbOf(gw)
    const executeSql = db.executeSql.bind(db)
    let frozen = false
    db.executeSql = (text, values) => {
      if (!frozen && /INSERT INTO pgboss\.job/.test(text)) {
        frozen = true
        freeze()
      }
      return executeSql(text, values)
    }
    const before = await runIds()
    let res: Response
    try {
      // before: the request waited as long as the freeze lasted
      const answered = await within(submit(), 20_000, 'the answer while the server hangs')
      expect(answered).toBeInstanceOf(Response)
      res = answered as Response
    } finally {
      db.executeSql = executeSql
      thaw()
    }
    expect(frozen).toBe(true)
    const body = (await res.json()) as ErrorBody
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 503, code: 'store_unavailable' })
    // the send went on: its job is stored once the server answers (a worker would take the run), the run queued
    const [id] = (await runIds()).filter((r) => !before.includes(r))
    const jobFor = async () =>
      (await operator.query(`SELECT 1 FROM pgboss.job WHERE data->>'runId' = $1`, [id])).rowCount
    while ((await jobFor()) !== 1) await new Promise((r) => setTimeout(r, 50))
    expect(await gw.ctx.store.getRun(id!)).toMatchObject({ status: 'queued' })
  })

  it("a server that hangs once the run's job is sent (the answer's read of the run): 202 with the run as admitted, its job stored", async () => {
    // a worker that takes the job at once and meets a server that hangs as it claims the run (as
    // pg-boss-work-bound's give-back case does) hangs it under the API node's answer: the run is stored and sent,
    // only the read of the run as stored now is left. Before: 503 store_unavailable, and a client sent it again
    const db = bossDbOf(gw)
    const executeSql = db.executeSql.bind(db)
    let atRead: Promise<string> | undefined
    db.executeSql = async (text, values) => {
      const result = await executeSql(text, values)
      if (!atRead && /INSERT INTO pgboss\.job/.test(text))
        atRead = freezeOnStatement(
          gw.ctx.store as PostgresStore,
          freeze,
          (sql, inTransaction) => !inTransaction && /FROM runs WHERE id = \$1$/.test(sql),
        )
      return result
    }
    const before = await runIds()
    let res: Response
    try {
      const answered = await within(submit(), 20_000, 'the answer while the server hangs')
      expect(answered).toBeInstanceOf(Response)
      res = answered as Response
      expect(await atRead).toMatch(/FROM runs WHERE id/)
    } finally {
      db.executeSql = executeSql
      thaw()
    }
    const body = await res.text()
    expect(res.status, body).toBe(202)
    const run = JSON.parse(body) as Run
    expect(run).toMatchObject({ status: 'queued', agent: 'cli' })
    expect((await runIds()).filter((r) => !before.includes(r))).toEqual([run.id])
    const jobs = await operator.query(`SELECT 1 FROM pgboss.job WHERE data->>'runId' = $1`, [run.id])
    expect(jobs.rowCount).toBe(1)
  })

  it("a send waiting its turn for one of pg-boss's connections past the bound while the others are answered: sent, not 503", async () => {
    // a burst of runs on a busy API node (100 at once to one node of a loaded cluster: e2e/cluster.test.ts) queued
    // their sends behind pg-boss's 4 connections past the bound, each of the others answered: before, 503
    // store_unavailable (JobSendUnanswered, or the pool's "timeout exceeded when trying to connect") as if the
    // server hung
    const pool = bossDbOf(gw).pool
    const queue = (gw.ctx.runs as unknown as { cluster: { queue: { send(runId: string): Promise<void> } } })
      .cluster.queue
    const held = await Promise.all([1, 2, 3, 4].map(() => pool.connect()))
    // the bound's timers and clock: it passes without a wait (the connections' sockets stay real)
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    try {
      const first = pool.connect()
      const sent = queue.send('run_waited_its_turn').then(
        () => 'sent',
        (err: Error) => err.message,
      )
      await vi.advanceTimersByTimeAsync(1200)
      // one connection handed back answered: the first in the queue takes it
      held.shift()!.release()
      const next = await first
      // the bound (2 s) passes for the send, a connection answered meanwhile; then it gets one
      await vi.advanceTimersByTimeAsync(1200)
      next.release()
      expect(await sent).toBe('sent')
    } finally {
      vi.useRealTimers()
      for (const client of held) client.release()
    }
    const jobs = await operator.query(`SELECT 1 FROM pgboss.job WHERE data->>'runId' = $1`, [
      'run_waited_its_turn',
    ])
    expect(jobs.rowCount).toBe(1)
  })

  it("a client's retry with the same Idempotency-Key after the send's 503: the same run, not a second", async () => {
    const keyed = () =>
      postJson(
        `${gw.url}/v1/runs`,
        { agent: 'cli', command: { cli: 'sh', args: ['-c', 'true'] } },
        { 'idempotency-key': 'retry-after-503' },
      )
    const atInsert = freezeOnStatement(bossDbOf(gw), freeze, (text) => /INSERT INTO pgboss\.job/.test(text))
    const before = await runIds()
    let res: Response
    try {
      const answered = keyed()
      await atInsert
      const got = await within(answered, 20_000, 'the answer while the server hangs')
      expect(got).toBeInstanceOf(Response)
      res = got as Response
    } finally {
      thaw()
    }
    expect(res.status).toBe(503)
    const [id] = (await runIds()).filter((r) => !before.includes(r))
    // the retry answers the run the first request stored (before: a second run, its job sent too)
    const again = await keyed()
    expect(again.status).toBe(200)
    expect(((await again.json()) as Run).id).toBe(id)
    expect((await runIds()).filter((r) => !before.includes(r))).toEqual([id])
  })

  it('a send not answered in time that then proves unsent (a lock held past lock_timeout): 503, then the run recorded failed', async () => {
    // another client holds a lock on the job table; the server hangs as the job's INSERT is sent: the request is
    // answered 503 store_unavailable at the bound, then the server reads the INSERT, which waits for the lock
    // until lock_timeout ends it (55P03): the job is known not to be stored, so no worker will ever take the run
    await operator.query('BEGIN')
    await operator.query('LOCK TABLE pgboss.job IN ACCESS EXCLUSIVE MODE')
    const atInsert = freezeOnStatement(bossDbOf(gw), freeze, (text) => /INSERT INTO pgboss\.job/.test(text))
    const before = await runIds()
    let res: Response
    try {
      const answered = submit()
      await atInsert
      const got = await within(answered, 20_000, 'the answer while the server hangs')
      expect(got).toBeInstanceOf(Response)
      res = got as Response
    } finally {
      thaw()
    }
    try {
      const body = (await res.json()) as ErrorBody
      expect({ status: res.status, code: body.error.code }).toEqual({
        status: 503,
        code: 'store_unavailable',
      })
      const [id] = (await runIds()).filter((r) => !before.includes(r))
      expect(id).toBeDefined()
      // the late send's outcome: recorded failed (without it, left queued with no job until the lost-job check)
      const ended = await within(gw.ctx.runs.wait(id!), 20_000, 'the run to end')
      expect(ended).toMatchObject({ status: 'failed' })
      expect((ended as Run).error).toMatch(
        /was not sent to the workers' queue: .*lock timeout.*; submit it again/,
      )
    } finally {
      await operator.query('ROLLBACK')
    }
  })
})
