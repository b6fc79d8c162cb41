import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { within } from '../support/stubborn-agent.js'

const server = sharedPostgres()

gatewayModules()

/** pg-boss's own database adapter of a node's queue (its statements: `executeSql`). */
const bossDbOf = (gw: TestGateway) =>
  (
    gw.ctx.runs as unknown as {
      cluster: {
        queue: { boss: { getDb(): { executeSql(text: string, values?: unknown[]): Promise<unknown> } } }
      }
    }
  ).cluster.queue.boss.getDb()

/**
 * An API node (GATEWAY_ROLE api) stores a run `queued`, then sends its job through pg-boss. A send whose connection
 * is lost mid-statement (or an API node gone between the two) leaves the run queued, its job stored or not: unknown.
 * The lost-job check (LOST_JOB_CHECK_SECONDS, here 1 s; a run that old and twice STORE_QUERY_TIMEOUT_SECONDS, here
 * 2 s) sends the job of such a run again, and a worker runs it. Before, nothing ever sent it: it stayed queued for
 * good. A run whose job is in the queue is not sent again.
 */
describe("a queued run whose job's send was lost", () => {
  const shared: Record<string, string> = {
    CLI_LIST: 'sh',
    STORE_QUERY_TIMEOUT_SECONDS: '1',
    LOST_JOB_CHECK_SECONDS: '1',
  }
  let api: TestGateway
  let worker: TestGateway | undefined
  let operator: pg.Client
  beforeAll(async () => {
    shared.DATABASE_URL = await server.createStoreDatabase()
    api = await startGateway(null, { ...shared, GATEWAY_ROLE: 'api' })
    operator = new pg.Client({ connectionString: shared.DATABASE_URL })
    await operator.connect()
  })
  afterAll(async () => {
    await operator?.end().catch(() => {})
    await worker?.close()
    await api?.close()
  })

  const submit = () =>
    postJson(`${api.url}/v1/runs`, { agent: 'cli', command: { cli: 'sh', args: ['-c', 'echo ran'] } })
  const runIds = async () =>
    (await operator.query<{ id: string }>('SELECT id FROM runs ORDER BY id')).rows.map((r) => r.id)
  const jobsOf = async (runId: string) =>
    (await operator.query(`SELECT 1 FROM pgboss.job WHERE data->>'runId' = $1`, [runId])).rowCount

  it('has its job sent again by the check, and a worker runs it; a run whose job is queued is not sent again', async () => {
    const sent = await submit()
    expect(sent.status).toBe(202)
    const { id: kept } = (await sent.json()) as Run

    // the next send's connection is lost mid-statement: the INSERT of its job never reaches the server
    const db = bossDbOf(api)
    const executeSql = db.executeSql.bind(db)
    let cut = false
    db.executeSql = (text, values) => {
      if (!cut && /INSERT INTO pgboss\.job/.test(text)) {
        cut = true
        return Promise.reject(new Error('Connection terminated unexpectedly'))
      }
      return executeSql(text, values)
    }
    const before = await runIds()
    let res: Response
    try {
      res = await submit()
    } finally {
      db.executeSql = executeSql
    }
    expect(cut).toBe(true)
    expect(res.status).toBe(503)
    const [lost] = (await runIds()).filter((r) => !before.includes(r))
    expect(lost).toBeDefined()
    // its outcome unknown: left queued (not failed), with no job
    expect(await api.ctx.store.getRun(lost!)).toMatchObject({ status: 'queued' })
    expect(await jobsOf(lost!)).toBe(0)

    // the check sends its job again (before: never)
    let waiting = true
    const resent = async () => {
      while (waiting && (await jobsOf(lost!)) === 0) await new Promise((r) => setTimeout(r, 50))
      return true
    }
    try {
      expect(await within(resent(), 20_000, "the lost run's job to be sent again")).toBe(true)
    } finally {
      waiting = false
    }
    // the same check saw the older run (queued, unclaimed) with its job in the queue: not sent again
    expect(await jobsOf(kept)).toBe(1)
    expect(await jobsOf(lost!)).toBe(1)

    // a worker runs both, each once
    worker = await startGateway(null, { ...shared, GATEWAY_ROLE: 'worker', WORKSPACE_DIR: api.workspace })
    for (const id of [kept, lost!]) {
      const ended = await within(api.ctx.runs.wait(id), 20_000, `run ${id} to end`)
      expect(ended).toMatchObject({ status: 'succeeded' })
      const events = await api.ctx.store.eventsAfter(id, 0, 1000)
      expect(events.filter((e) => e.type === 'run.started')).toHaveLength(1)
    }
  }, 60_000)
})
