import { EventEmitter } from 'node:events'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { freezeBefore, freezeOnStatement } from '../support/postgres-freeze.js'
import { signalPostgres } from '../support/postgres-signals.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { within } from '../support/stubborn-agent.js'

// a server of its own: the tests freeze it (SIGSTOP), which every other file on a shared server would feel
const server = sharedPostgres({ ownServer: true })
let frozen = false
const freeze = () => {
  frozen = true
  signalPostgres(server.ownServer().dir, 'SIGSTOP')
}
const thaw = () => {
  if (frozen) signalPostgres(server.ownServer().dir, 'SIGCONT')
  frozen = false
}

gatewayModules()

/** The pool of pg-boss's own statements of a node's queue. */
const bossOf = (gw: TestGateway) =>
  (
    gw.ctx.runs as unknown as { cluster: { queue: { boss: { getDb(): { pool: pg.Pool } } } } }
  ).cluster.queue.boss.getDb()

/** A node's warn lines (JSON), and each line as it is written. */
class Lines {
  readonly msgs: string[] = []
  private readonly written = new EventEmitter()
  readonly sink = {
    write: (line: string) => {
      const { msg } = JSON.parse(line) as { msg: string }
      this.msgs.push(msg)
      this.written.emit('line', msg)
    },
  }

  /** The first line (from now on, or already written after `from`) that `re` matches. */
  next(re: RegExp, from = 0): Promise<string> {
    const seen = this.msgs.slice(from).find((m) => re.test(m))
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve) => {
      const on = (msg: string) => {
        if (!re.test(msg)) return
        this.written.off('line', on)
        resolve(msg)
      }
      this.written.on('line', on)
    })
  }
}

/**
 * A worker's use of the workers' queue (pg-boss) and the lost-job check meet STORE_QUERY_TIMEOUT_SECONDS (here 2 s)
 * on a PostgreSQL server that hangs (SIGSTOP as the statement is sent): the fetch of jobs, the completion of a job
 * taken, the give-back of a job this node could not claim, and the lost-job check's query each fail within it with
 * a `warn` line naming the statement; once the server answers, the worker goes on (a job's completion or give-back
 * kept and finished first, not left to its expiry) and every run runs once. Before, each waited as long as the
 * freeze lasted, silently (pg-boss's fetch even swallows its failure).
 */
describe("a worker's queue statements and the lost-job check on a PostgreSQL that hangs", () => {
  const shared: Record<string, string> = {
    CLI_LIST: 'sh',
    STORE_QUERY_TIMEOUT_SECONDS: '2',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
  }
  let api: TestGateway
  let worker: TestGateway
  const apiLines = new Lines()
  const workerLines = new Lines()
  let operator: pg.Client
  beforeAll(async () => {
    shared.DATABASE_URL = await server.createStoreDatabase()
    api = await startGateway(
      null,
      { ...shared, GATEWAY_ROLE: 'api', LOST_JOB_CHECK_SECONDS: '1' },
      { logSink: apiLines.sink },
    )
    worker = await startGateway(
      null,
      { ...shared, GATEWAY_ROLE: 'worker', WORKSPACE_DIR: api.workspace },
      { logSink: workerLines.sink },
    )
    operator = new pg.Client({ connectionString: shared.DATABASE_URL })
    await operator.connect()
  })
  afterEach(thaw)
  afterAll(async () => {
    thaw()
    await operator?.end().catch(() => {})
    await worker?.close()
    await api?.close()
  })

  const submit = async () => {
    const res = await postJson(`${api.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', 'echo ran'] },
    })
    expect(res.status).toBe(202)
    return ((await res.json()) as Run).id
  }
  /** The run ends succeeded, started once. */
  const ranOnce = async (id: string) => {
    const ended = await within(api.ctx.runs.wait(id), 30_000, `run ${id} to end`)
    expect(ended).toMatchObject({ status: 'succeeded' })
    const events = await api.ctx.store.eventsAfter(id, 0, 1000)
    expect(events.filter((e) => e.type === 'run.started')).toHaveLength(1)
  }
  const jobStates = async (runId: string) =>
    (
      await operator.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE data->>'runId' = $1`, [
        runId,
      ])
    ).rows.map((r) => r.state)
  /** Waits (until `within` gives up) for every job of the run to be completed. */
  const jobsCompleted = async (runId: string) => {
    let waiting = true
    const done = async () => {
      for (;;) {
        const states = await jobStates(runId)
        if (!waiting || (states.length > 0 && states.every((s) => s === 'completed'))) return states
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    try {
      return await within(done(), 30_000, `the jobs of run ${runId} to be completed`)
    } finally {
      waiting = false
    }
  }

  it("the worker's fetch: cut and said so within the bound, then polls again once the server answers", async () => {
    const from = workerLines.msgs.length
    const atFetch = freezeOnStatement(bossOf(worker), freeze, (text) => /SET\s+state = 'active'/.test(text))
    await atFetch
    // before: the fetch waited for the server as long as the freeze lasted, and said nothing
    const line = await within(
      workerLines.next(/poll of the workers' queue failed/, from),
      20_000,
      'the warn line',
    )
    expect(line).toMatch(
      /PostgreSQL did not answer a worker's fetch of runs' jobs from the workers' queue within 2 s \(STORE_QUERY_TIMEOUT_SECONDS\)/,
    )
    thaw()
    expect(
      await within(workerLines.next(/answers this worker's polls again/, from), 20_000, 'the recovery'),
    ).toMatch(/after \d+ failed/)
    await ranOnce(await submit())
  }, 60_000)

  it("a taken job's completion: cut and said so; completed once the server answers, the run run once", async () => {
    const from = workerLines.msgs.length
    const atComplete = freezeOnStatement(bossOf(worker), freeze, (text) => /state = 'completed'/.test(text))
    const id = await submit()
    await atComplete
    const line = await within(
      workerLines.next(/poll of the workers' queue failed/, from),
      20_000,
      'the warn line',
    )
    expect(line).toMatch(/PostgreSQL did not answer the completion of 1 run job\(s\) within 2 s/)
    expect(line).toMatch(/1 fetched job\(s\) to give back or complete are kept for the next poll/)
    thaw()
    // completed at the next poll (before: when the server woke; with the statement merely failed, never: its job
    // expired and was handed out again)
    expect(await jobsCompleted(id)).toEqual(['completed'])
    await ranOnce(id)
    // the series of failed polls over (the next case's failure is a series of its own, told again: without this
    // wait its poll could be the one that completed this job, still in this series, and say nothing)
    expect(
      await within(workerLines.next(/answers this worker's polls again/, from), 20_000, 'the recovery'),
    ).toMatch(/after \d+ failed/)
  }, 60_000)

  it('a job the worker could not claim: its give-back cut and said so; given back once the server answers, the run run once', async () => {
    const from = workerLines.msgs.length
    // the claim meets the hung server (the store's bound: the take fails), then the give-back's send does
    const atClaim = freezeBefore(worker.ctx.store as PostgresStore, freeze, (text) =>
      text.startsWith('UPDATE runs SET node_id = $2, claimed_at'),
    )
    const id = await submit()
    await atClaim
    const line = await within(
      workerLines.next(/poll of the workers' queue failed/, from),
      20_000,
      'the warn line',
    )
    expect(line).toMatch(
      new RegExp(
        `PostgreSQL did not answer the give-back of run ${id}'s job to the workers' queue within 2 s`,
      ),
    )
    thaw()
    await ranOnce(id)
    // the job fetched first was given back (completed), the one sent in its place taken and completed
    const states = await jobsCompleted(id)
    expect(states.length).toBeGreaterThanOrEqual(2)
  }, 60_000)

  it("the lost-job check's query: cut and said so; the next check goes on", async () => {
    const from = apiLines.msgs.length
    const atCheck = freezeOnStatement(bossOf(api), freeze, (text) =>
      text.includes('pg_try_advisory_xact_lock'),
    )
    await atCheck
    const line = await within(apiLines.next(/the lost-job check failed/, from), 20_000, 'the warn line')
    expect(line).toMatch(/PostgreSQL did not answer the lost-job check's query within 2 s/)
    expect(line).toMatch(/the next check, in 1 s \(LOST_JOB_CHECK_SECONDS\), looks again/)
    thaw()
    await ranOnce(await submit())
  }, 60_000)
})
