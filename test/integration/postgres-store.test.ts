import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { EventBus } from '../../src/store/event-bus.js'
import { PgEventBus } from '../../src/store/postgres/pg-event-bus.js'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { NotAMember } from '../../src/store/store.js'
import { describeStoreContract, newRun, newSession, runSucceeded } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'

const server = sharedPostgres()

describeStoreContract('postgres', {
  async fresh() {
    const url = await server.createStoreDatabase()
    return { store: await PostgresStore.open(url), connect: () => PostgresStore.open(url) }
  },
})

/**
 * A rolling upgrade: nodes of before take the admission lock in their run's INSERT (migration 9's
 * agw_admission_room, which an admission inside an inOneTransaction view still uses), nodes of now in their COMMIT
 * (migration 11's deferred trigger). Both take the same lock and count under it, so a burst of both kinds admits
 * exactly the bound.
 */
describe('PostgresStore: admissions the old way and the new way at once', () => {
  it('a burst of both, from two connections, admits exactly the bound', async () => {
    const url = await server.createStoreDatabase()
    const store = await server.openStore(url)
    const other = await server.openStore(url)
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const run = newRun(`run_${String(i).padStart(3, '0')}`)
        return i % 2
          ? store.admitRun(run, null, 7)
          : other.inOneTransaction((tx) => tx.admitRun(run, null, 7))
      }),
    )
    expect(results.filter(Boolean)).toHaveLength(7)
    expect(await store.listRuns({ limit: 100 })).toHaveLength(7)
    // two that each find room in their INSERT's snapshot, and wait at COMMIT for the lock (held here): one is
    // admitted, the other refused at COMMIT (false), its connection sound and kept in the pool (not ended)
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      await admin.query('SELECT pg_advisory_lock(7265310002)')
      const released: (Error | undefined)[] = []
      store.pool.on('release', (err: Error | undefined) => released.push(err))
      const both = [store.admitRun(newRun('run_x'), null, 8), store.admitRun(newRun('run_y'), null, 8)]
      for (;;) {
        const { rows } = await admin.query(
          "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        if (rows.length === 2) break
        await new Promise((r) => setTimeout(r, 10))
      }
      await admin.query('SELECT pg_advisory_unlock(7265310002)')
      expect((await Promise.all(both)).map((r) => r !== false).sort()).toEqual([false, true])
      expect(released).toEqual([undefined, undefined])
      expect(await store.listRuns({ limit: 100 })).toHaveLength(8)
    } finally {
      await admin.end()
    }
  })
})

describe('PostgresStore: a claim and the mark of its node as lost, in either order', () => {
  const node = (id: string) => ({ id, role: 'all', host: 'h', pid: 1, startedAt: 't', heartbeatAt: 't' })
  const ids = (rows: { id: string }[]) => rows.map((r) => r.id)

  /**
   * Resolves once `waiters` statements of other sessions wait for a row lock (synchronised on PostgreSQL's own
   * view), or once `settled` says what should have waited did not.
   */
  async function untilWaitingForLock(admin: pg.Client, settled: () => boolean, waiters = 1): Promise<void> {
    while (!settled()) {
      const { rows } = await admin.query(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      )
      if (rows.length >= waiters) return
      await new Promise((r) => setImmediate(r))
    }
  }

  /**
   * A fresh database with nodes node_a and node_b and run_1 admitted, a store on it, and two plain
   * connections: `client` for the test's own statements, `admin` to watch locks (both ended after `fn`).
   */
  async function withTwoNodesAndRun(
    fn: (scene: { url: string; store: PostgresStore; client: pg.Client; admin: pg.Client }) => Promise<void>,
  ): Promise<void> {
    const url = await server.createStoreDatabase()
    const store = await server.openStore(url)
    const client = new pg.Client({ connectionString: url })
    const admin = new pg.Client({ connectionString: url })
    await client.connect()
    await admin.connect()
    try {
      await store.registerNode(node('node_a'))
      await store.registerNode(node('node_b'))
      await store.admitRun(newRun('run_1'), null, 10)
      await fn({ url, store, client, admin })
    } finally {
      await client.end()
      await admin.end()
    }
  }

  it('a mark that comes while a claim is in progress waits for it: the takeover that follows finds the run', async () => {
    await withTwoNodesAndRun(async ({ url, store, client: holder, admin }) => {
      const marking = await server.openStore(url)
      // holds the run's row: node_a's claim gets its membership (share lock on its node row), then waits here
      await holder.query('BEGIN')
      await holder.query("SELECT 1 FROM runs WHERE id = 'run_1' FOR UPDATE")
      let claimDone = false
      const claim = store.claimRun('run_1', 'node_a').finally(() => {
        claimDone = true
      })
      await untilWaitingForLock(admin, () => claimDone)
      // another node's recovery marks node_a lost: it waits for the claim in progress
      let markDone = false
      const mark = marking.markNodesLost(['node_a'], 't').finally(() => {
        markDone = true
      })
      await untilWaitingForLock(admin, () => markDone || claimDone, 2)
      expect({ markDone, claimDone }).toEqual({ markDone: false, claimDone: false })
      await holder.query('COMMIT')
      expect((await claim)?.id).toBe('run_1')
      await mark
      expect(ids(await marking.takeOverRuns(['node_a'], 'node_b'))).toEqual(['run_1'])
      await expect(store.claimNextRun('node_a')).rejects.toBeInstanceOf(NotAMember)
    })
  })

  it('a claim (or new session) that comes while the mark is not committed yet waits for it, then finds the node lost', async () => {
    await withTwoNodesAndRun(async ({ store, client: marker, admin }) => {
      await store.createSession(newSession('ses_1'), 'node_b')
      // the mark of another node's recovery, in its transaction (markNodesLost's statement)
      await marker.query('BEGIN')
      await marker.query("UPDATE nodes SET lost_at = 't' WHERE id = 'node_a' AND lost_at IS NULL")
      let claimed = false
      const claim = store
        .claimRun('run_1', 'node_a')
        .then(
          () => 'claimed',
          (err: unknown) => (err instanceof NotAMember ? 'refused' : String(err)),
        )
        .finally(() => {
          claimed = true
        })
      await untilWaitingForLock(admin, () => claimed)
      const session = store.claimSession('ses_1', 'node_a').catch((err: unknown) => err)
      const created = store.createSession(newSession('ses_2'), 'node_a').catch((err: unknown) => err)
      await marker.query('COMMIT')
      // READ COMMITTED: the claim's snapshot predates the mark, but the row it locks is read again as committed
      expect(await claim).toBe('refused')
      expect(await session).toBeInstanceOf(NotAMember)
      expect(await created).toBeInstanceOf(NotAMember)
      expect(await store.getSession('ses_2')).toBeUndefined()
      expect(await store.ownerOf('run_1')).toBeNull()
      expect(await store.ownerOf('ses_1')).toBe('node_b')
    })
  })
})

describe('PgEventBus: events stored on one node are streamed live on another', () => {
  /** Nodes A and B on one fresh database, each with a store and an event bus (A's on `poolOfA`); buses closed after `fn`. */
  async function withTwoNodes(
    fn: (nodes: {
      storeA: PostgresStore
      storeB: PostgresStore
      busA: PgEventBus
      busB: PgEventBus
    }) => Promise<void>,
    poolOfA = (pool: pg.Pool) => pool,
  ): Promise<void> {
    const url = await server.createStoreDatabase()
    const storeA = await server.openStore(url)
    const storeB = await server.openStore(url)
    const busA = await PgEventBus.start(url, poolOfA(storeA.pool), 'node_a')
    const busB = await PgEventBus.start(url, storeB.pool, 'node_b')
    try {
      await fn({ storeA, storeB, busA, busB })
    } finally {
      await busA.close()
      await busB.close()
    }
  }

  it('a subscriber on node B follows a run appended on node A: complete, ordered, large events too', async () => {
    await withTwoNodes(async ({ storeA, storeB, busA, busB }) => {
      const logA = new EventLog(storeA, busA)
      const logB = new EventLog(storeB, busB)
      await storeA.createRun(newRun('run_x'))
      await logA.append('run_x', { type: 'run.queued' })
      await logA.append('run_x', { type: 'turn.started' })
      let finished = false
      const seen: StoredEvent[] = []
      const reading = (async () => {
        for await (const ev of logB.subscribe(
          'run_x',
          1,
          (e) => e.type === 'run.completed',
          async () => finished,
        ))
          seen.push(ev)
      })()
      for (let i = 0; i < 200; i++)
        await logA.append('run_x', {
          type: 'item.delta',
          itemId: 'i',
          delta: i === 100 ? 'y'.repeat(20_000) : `${i}`,
        })
      await logA.append('run_x', runSucceeded)
      finished = true
      await reading
      expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: 202 }, (_, i) => i + 2))
      expect(seen.find((e) => e.seq === 103)).toMatchObject({ delta: 'y'.repeat(20_000) })
    })
  })

  /** Follows `id` on `log` from seq 0 to its run.completed (a run is finished when `finished()` says so). */
  async function follow(log: EventLog, id: string, finished: () => boolean): Promise<StoredEvent[]> {
    const seen: StoredEvent[] = []
    for await (const ev of log.subscribe(
      id,
      0,
      (e) => e.type === 'run.completed',
      async () => finished(),
    ))
      seen.push(ev)
    return seen
  }

  it("a run's end noticed on node B before the events that precede it (notices reordered): B streams all, in order, then the end", async () => {
    await withTwoNodes(async ({ storeA, storeB, busA, busB }) => {
      // node B's bus holds back every notice until the run's end comes, then hands it over first, the rest after
      // it, last first: the worst order NOTIFYs sent from several pool connections may arrive in
      const reordering: EventBus = {
        publish: (events) => busB.publish(events),
        close: () => busB.close(),
        subscribe(owner, listener) {
          const held: StoredEvent[] = []
          return busB.subscribe(owner, (ev) => {
            if (ev.type !== 'run.completed') return void held.push(ev)
            listener(ev)
            for (const e of held.reverse()) listener(e)
          })
        },
      }
      const logA = new EventLog(storeA, busA)
      const logB = new EventLog(storeB, reordering)
      await storeA.createRun(newRun('run_r'))
      await logA.append('run_r', { type: 'run.queued' })
      let finished = false
      const reading = follow(logB, 'run_r', () => finished)
      for (let i = 0; i < 40; i++)
        await logA.append('run_r', { type: 'output', stream: 'stdout', data: `line ${i}\n` })
      await storeA.updateRun('run_r', { status: 'succeeded' })
      finished = true
      await logA.append('run_r', runSucceeded)
      const seen = await reading
      expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1))
      expect(seen.at(-1)?.type).toBe('run.completed')
    })
  })

  it("a run's end whose NOTIFY failed once (a pool connection lost) still reaches a subscriber on node B", async () => {
    // node A's pool: the first pg_notify that announces a run.completed fails, as a query on a lost connection does
    let failed = 0
    const flaky = (pool: pg.Pool) =>
      new Proxy(pool, {
        get(target, prop) {
          if (prop !== 'query') return Reflect.get(target, prop)
          return (text: string, values?: unknown[]) => {
            const ending = text.includes('pg_notify') && String(values?.[1]).includes('"run.completed"')
            if (ending && failed++ === 0)
              return Promise.reject(new Error('Connection terminated unexpectedly'))
            return target.query(text, values)
          }
        },
      })
    await withTwoNodes(async ({ storeA, storeB, busA, busB }) => {
      const logA = new EventLog(storeA, busA)
      const logB = new EventLog(storeB, busB)
      await storeA.createRun(newRun('run_n'))
      await logA.append('run_n', { type: 'run.queued' })
      let finished = false
      const reading = follow(logB, 'run_n', () => finished)
      // B follows live before the run ends (its replay found the run.queued, the run unfinished)
      await logA.append('run_n', { type: 'output', stream: 'stdout', data: 'x\n' })
      await storeA.updateRun('run_n', { status: 'succeeded' })
      finished = true
      await logA.append('run_n', runSucceeded)
      const seen = await reading
      expect(failed).toBeGreaterThan(1)
      expect(seen.map((e) => e.type)).toEqual(['run.queued', 'output', 'run.completed'])
    }, flaky)
  }, 15_000)
})
