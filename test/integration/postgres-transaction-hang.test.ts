import { spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { StoreNoAnswer } from '../../src/util/store-unavailable.js'
import { newRun } from '../contract/store-contract.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { freezeBefore } from '../support/postgres-freeze.js'
import { signalPostgres } from '../support/postgres-signals.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { within } from '../support/stubborn-agent.js'

// a server of its own: these tests freeze it (SIGSTOP), which every other file on a shared server would feel
const server = sharedPostgres({ ownServer: true })
const freeze = () => signalPostgres(server.ownServer().dir, 'SIGSTOP')
const thaw = () => signalPostgres(server.ownServer().dir, 'SIGCONT')

gatewayModules()

/** The connections `store`'s pool had released with a failure, from now on (`stop` to stop collecting). */
function failedReleases(store: PostgresStore) {
  const failed: { err: Error; client: pg.PoolClient }[] = []
  const onRelease = (err: Error | undefined, client: pg.PoolClient) => {
    if (err) failed.push({ err, client })
  }
  store.pool.on('release', onRelease)
  return { failed, stop: () => store.pool.off('release', onRelease) }
}

const destroyed = (client: pg.PoolClient) =>
  (client as unknown as { connection: { stream: { destroyed: boolean } } }).connection.stream.destroyed

/**
 * A statement inside a transaction (its BEGIN answered) that a hung server (SIGSTOP) does not answer within
 * STORE_QUERY_TIMEOUT_SECONDS is cut: its connection destroyed before COMMIT is ever sent, so the server can only
 * roll it back, and the write is held and tried again within STORE_OUTAGE_GRACE_SECONDS like a BEGIN not answered.
 * Before, it waited for the server, unbounded: the run's events queued behind it and the grace never applied.
 */
describe("a transaction's statement sent to a hung PostgreSQL", () => {
  let gw: TestGateway
  beforeAll(async () => {
    const url = await server.createStoreDatabase()
    gw = await startGateway(null, { DATABASE_URL: url, CLI_LIST: 'sh', STORE_QUERY_TIMEOUT_SECONDS: '2' })
  })
  afterAll(async () => {
    await gw?.close()
  })

  /** A `sh` run that prints `before`, waits for a line on a FIFO (the returned `release`), then prints `after`. */
  async function pausedRun(name: string) {
    const release = path.join(gw.workspace, name)
    expect(spawnSync('mkfifo', [release]).status).toBe(0)
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', `echo before; read x < ${name}; echo after`] },
    })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as Run
    for await (const ev of gw.ctx.runs.events(id, 0)) if (ev.type === 'output') break
    return { id, release: () => writeFile(release, 'go\n') }
  }

  /** Resolves at the next outage's first hold of a write (the EventLog's notice), wrapping the gateway's own. */
  function nextHold(): Promise<string> {
    const notices = gw.ctx.log.outageNotices!
    const told = notices.held
    return new Promise((resolve) => {
      notices.held = (err, graceMs) => {
        notices.held = told
        told(err, graceMs)
        resolve((err as Error).message)
      }
    })
  }

  it("frozen after BEGIN, mid-run: the write is held, its connection destroyed; after SIGCONT the run's events all land, once each, in order", async () => {
    const store = gw.ctx.store as PostgresStore
    const { id, release } = await pausedRun('release-held')
    const frozen = freezeBefore(store, freeze, (text) => text.startsWith('UPDATE runs SET last_seq'))
    const releases = failedReleases(store)
    const held = nextHold()
    try {
      // the run's `after`: its commit's BEGIN is answered, then the server freezes before its first statement
      await release()
      expect(await frozen).toContain('UPDATE runs SET last_seq')
      // held within the bound (before: the statement waited for the server; no hold came until it woke)
      expect(await within(held, 30_000, 'the hold of the write')).toMatch(
        /did not answer a statement of a transaction \(before its COMMIT\) within 2 s/,
      )
      expect(gw.ctx.log.held).toBeGreaterThan(0)
      // the connection it was sent on was destroyed (COMMIT never sent): the server can only roll it back
      const cut = releases.failed.filter(
        (f) => f.err instanceof StoreNoAnswer && /statement/.test(f.err.message),
      )
      expect(cut.length).toBeGreaterThanOrEqual(1)
      for (const { client } of cut) expect(destroyed(client)).toBe(true)
    } finally {
      releases.stop()
      thaw()
    }
    expect(await within(gw.ctx.runs.wait(id), 30_000, 'the run')).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
    })
    const events = await gw.ctx.store.eventsAfter(id, 0, 1000)
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    expect(events.flatMap((e) => (e.type === 'output' ? [e.data] : []))).toEqual(['before\n', 'after\n'])
    expect(events.filter((e) => e.type === 'run.completed')).toEqual([
      expect.objectContaining({ type: 'run.completed', status: 'succeeded' }),
    ])
    expect(events.at(-1)).toMatchObject({ type: 'run.completed' })
  })

  it('frozen past the grace: the run is ended failed while the server still hangs (nothing waits for ever); its end is stored after SIGCONT, the held event never', async () => {
    const store = gw.ctx.store as PostgresStore
    gw.ctx.config.STORE_OUTAGE_GRACE_SECONDS = 3
    const { id, release } = await pausedRun('release-given-up')
    const frozen = freezeBefore(store, freeze, (text) => text.startsWith('UPDATE runs SET last_seq'))
    const notices = gw.ctx.log.outageNotices!
    const told = notices.gaveUp
    const gaveUp = new Promise<void>((resolve) => {
      notices.gaveUp = (err, heldMs) => {
        notices.gaveUp = told
        told(err, heldMs)
        resolve()
      }
    })
    try {
      await release()
      await frozen
      // given up while the server is still frozen (before: the statement waited for it, the grace never began)
      expect(await within(gaveUp, 30_000, 'giving the write up')).toBeUndefined()
    } finally {
      gw.ctx.config.STORE_OUTAGE_GRACE_SECONDS = 30
      thaw()
    }
    expect(await within(gw.ctx.runs.wait(id), 30_000, 'the run')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('storing its events failed'),
    })
    const events = await gw.ctx.store.eventsAfter(id, 0, 1000)
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    // what was refused is not in its history: `before`, then its end
    expect(events.flatMap((e) => (e.type === 'output' ? [e.data] : []))).toEqual(['before\n'])
    expect(events.filter((e) => e.type === 'run.completed')).toEqual([
      expect.objectContaining({ type: 'run.completed', status: 'failed' }),
    ])
  })
})

describe('a transaction whose statement was cut never commits', () => {
  it('a caller that catches the cut and goes on: its transaction fails, COMMIT is never sent, nothing of it is stored', async () => {
    const url = await server.createStoreDatabase()
    const store = await PostgresStore.open(url, { queryTimeoutMs: 1000 })
    try {
      await store.createRun(newRun('run_1'))
      const done = store.inOneTransaction(async (tx) => {
        await tx.updateRun('run_1', { status: 'running' })
        freeze()
        // a read in the transaction the frozen server does not answer: caught, and the caller returns
        const read = await tx.getRun('run_1').catch((err: unknown) => err)
        expect(read).toBeInstanceOf(StoreNoAnswer)
        return 'went on'
      })
      let outcome: unknown
      try {
        // before: the read waited for the server, and the call with it
        outcome = await within(
          done.then(
            () => 'committed',
            (err: unknown) => err,
          ),
          20_000,
          'the transaction',
        )
      } finally {
        thaw()
      }
      expect(outcome).toBeInstanceOf(StoreNoAnswer)
      // the server woke with the statement it had: rolled back with its connection, never committed
      expect(await store.getRun('run_1')).toMatchObject({ status: 'queued' })
    } finally {
      await store.close()
    }
  })
})
