import { spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { newRun } from '../contract/store-contract.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { freezeBefore } from '../support/postgres-freeze.js'
import { signalPostgres } from '../support/postgres-signals.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { within } from '../support/stubborn-agent.js'

// a server of its own: the last test freezes it (SIGSTOP), which every other file on a shared server would feel
const server = sharedPostgres({ ownServer: true })
const freeze = () => signalPostgres(server.ownServer().dir, 'SIGSTOP')
const thaw = () => signalPostgres(server.ownServer().dir, 'SIGCONT')

gatewayModules()

/**
 * A statement of a transaction waiting for a row lock that another client of PostgreSQL holds (an operator's open
 * transaction, another node's) ends with PostgreSQL's own lock_not_available (55P03), before
 * STORE_QUERY_TIMEOUT_SECONDS: a request answers 503 `store_busy` naming the lock, a run's events are held and land
 * once the lock is let go. Before, the client-side bound cut it as a hung server's (503 `store_unavailable`, "the
 * server hangs or cannot be reached"). A server that truly hangs still meets the client-side bound.
 */
describe('a row lock held by another PostgreSQL client', () => {
  let gw: TestGateway
  let url: string
  /** The other client: an operator's session holding a transaction open. */
  let operator: pg.Client
  beforeAll(async () => {
    url = await server.createStoreDatabase()
    gw = await startGateway(null, { DATABASE_URL: url, CLI_LIST: 'sh', STORE_QUERY_TIMEOUT_SECONDS: '2' })
    operator = new pg.Client({ connectionString: url })
    await operator.connect()
  })
  afterAll(async () => {
    await operator?.end().catch(() => {})
    await gw?.close()
  })

  /** Locks the run's row in the operator's open transaction until the returned function rolls it back. */
  async function lockRun(id: string): Promise<() => Promise<void>> {
    await operator.query('BEGIN')
    const { rowCount } = await operator.query('SELECT 1 FROM runs WHERE id = $1 FOR UPDATE', [id])
    expect(rowCount).toBe(1)
    return async () => {
      await operator.query('ROLLBACK')
    }
  }

  it("a request whose write waits for it: 503 store_busy naming a lock held elsewhere, with Retry-After; not 'hangs'", async () => {
    // a run queued in the cluster (no node holds it): its cancel claims it, in a transaction, on its row
    await gw.ctx.store.createRun(newRun('run_locked_cancel'))
    const unlock = await lockRun('run_locked_cancel')
    let res: Response
    try {
      res = await postJson(`${gw.url}/v1/runs/run_locked_cancel/cancel`, {})
    } finally {
      await unlock()
    }
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 503, code: 'store_busy' })
    expect(res.headers.get('retry-after')).toBe('5')
    expect(body.error.message).toMatch(/held by another client of its PostgreSQL server/)
    expect(body.error.message).not.toMatch(/cannot be reached|hangs/)
    // nothing of it stored; once the lock is let go the same cancel goes through
    expect(await gw.ctx.store.getRun('run_locked_cancel')).toMatchObject({ status: 'queued' })
    const again = await postJson(`${gw.url}/v1/runs/run_locked_cancel/cancel`, {})
    expect(again.status).toBe(200)
    expect(((await again.json()) as Run).status).toBe('cancelled')
  })

  it("the cluster's admission lock held by another client past the admission's wait: 503 store_busy at COMMIT, nothing stored; admitted once let go", async () => {
    // an operator's session holding advisory lock 7265310002 (or a node of before mid-admission): the admission's
    // COMMIT waits for it the whole STORE_QUERY_TIMEOUT_SECONDS (migration 11), then PostgreSQL ends the wait
    const before = (await gw.ctx.store.listRuns({ limit: 1000 })).length
    await operator.query('SELECT pg_advisory_lock(7265310002)')
    let res: Response
    try {
      res = await postJson(`${gw.url}/v1/runs`, {
        agent: 'cli',
        command: { cli: 'sh', args: ['-c', 'true'] },
      })
    } finally {
      await operator.query('SELECT pg_advisory_unlock(7265310002)')
    }
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 503, code: 'store_busy' })
    expect(res.headers.get('retry-after')).toBe('5')
    expect(await gw.ctx.store.listRuns({ limit: 1000 })).toHaveLength(before)
    const again = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', 'true'] },
    })
    expect(again.status).toBe(202)
    expect(await within(gw.ctx.runs.wait(((await again.json()) as Run).id), 30_000, 'the run')).toMatchObject(
      {
        status: 'succeeded',
      },
    )
  })

  it('a run in flight whose row it locks: its events are held (told as a lock, not an outage), then land in order once it is let go', async () => {
    const release = path.join(gw.workspace, 'release-locked')
    expect(spawnSync('mkfifo', [release]).status).toBe(0)
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', 'echo before; read x < release-locked; echo after'] },
    })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as Run
    for await (const ev of gw.ctx.runs.events(id, 0)) if (ev.type === 'output') break
    const notices = gw.ctx.log.outageNotices!
    const told = notices.held
    const held = new Promise<string>((resolve) => {
      notices.held = (err, graceMs) => {
        notices.held = told
        told(err, graceMs)
        resolve((err as Error).message)
      }
    })
    const unlock = await lockRun(id)
    try {
      await writeFile(release, 'go\n')
      expect(await within(held, 30_000, 'the hold of the write')).toMatch(
        /a lock another client holds .*55P03 lock_not_available.*the server answers/,
      )
    } finally {
      await unlock()
    }
    expect(await within(gw.ctx.runs.wait(id), 30_000, 'the run')).toMatchObject({ status: 'succeeded' })
    const events = await gw.ctx.store.eventsAfter(id, 0, 1000)
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    expect(events.flatMap((e) => (e.type === 'output' ? [e.data] : []))).toEqual(['before\n', 'after\n'])
    // ridden as a lock wait, not as an outage: the server answered throughout
    const metrics = await (await fetch(`${gw.url}/metrics`)).text()
    expect(metrics).toMatch(/^agent_gateway_store_lock_waits_ridden_total 1$/m)
    expect(metrics).toMatch(/^agent_gateway_store_outages_ridden_total 0$/m)
  })

  it('a read waiting for a table lock another client holds (LOCK TABLE runs): 503 store_busy, not a hang; served again once it is let go', async () => {
    await gw.ctx.store.createRun(newRun('run_table_locked'))
    await operator.query('BEGIN')
    await operator.query('LOCK TABLE runs IN ACCESS EXCLUSIVE MODE')
    let res: Response
    try {
      // a plain read outside a transaction: it waits for the table lock until PostgreSQL ends the wait (55P03),
      // below the client-side bound (STORE_QUERY_TIMEOUT_SECONDS) that would take it for a hung server
      res = await fetch(`${gw.url}/v1/runs/run_table_locked`)
    } finally {
      await operator.query('ROLLBACK')
    }
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 503, code: 'store_busy' })
    expect(res.headers.get('retry-after')).toBe('5')
    expect(body.error.message).not.toMatch(/cannot be reached|hangs/)
    // the connection was not taken for a hung server's: the store was not marked lost, nothing was held
    expect((gw.ctx.store as unknown as { reach: { lost: boolean } }).reach.lost).toBe(false)
    const again = await fetch(`${gw.url}/v1/runs/run_table_locked`)
    expect(again.status).toBe(200)
    expect(((await again.json()) as Run).id).toBe('run_table_locked')
  })

  it('a server that hangs (SIGSTOP) mid-transaction still meets the client-side bound: 503 store_unavailable', async () => {
    await gw.ctx.store.createRun(newRun('run_frozen_cancel'))
    const store = gw.ctx.store as PostgresStore
    const frozen = freezeBefore(store, freeze, (text) => text.startsWith('UPDATE runs SET node_id'))
    let res: Response
    try {
      const answer = postJson(`${gw.url}/v1/runs/run_frozen_cancel/cancel`, {})
      await frozen
      const answered = await within(answer, 30_000, 'the answer')
      expect(answered).toBeInstanceOf(Response)
      res = answered as Response
    } finally {
      thaw()
    }
    const body = (await res.json()) as { error: { code: string } }
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 503, code: 'store_unavailable' })
  })
})
