import { EventEmitter } from 'node:events'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import type { EventBus } from '../../src/store/event-bus.js'
import { PgEventBus } from '../../src/store/postgres/pg-event-bus.js'
import type { Notice } from '../../src/store/postgres/pg-notices.js'
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { newRun, runSucceeded } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'

const server = sharedPostgres()

/** A pool that counts the statements that send NOTIFYs. */
function countingNotifies(pool: pg.Pool): { pool: pg.Pool; statements: () => number } {
  let statements = 0
  const counted = new Proxy(pool, {
    get(target, prop) {
      if (prop !== 'query') return Reflect.get(target, prop)
      return (text: string, values?: unknown[]) => {
        if (text.includes('pg_notify')) statements++
        return target.query(text, values)
      }
    },
  })
  return { pool: counted, statements: () => statements }
}

/** A plain connection LISTENing on agw_events: the notices it got, and a wait until `done` says they are all there. */
async function listening(url: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query('LISTEN agw_events')
  const notices: Notice[] = []
  const arrived = new EventEmitter()
  client.on('notification', (msg) => {
    notices.push(JSON.parse(msg.payload!) as Notice)
    arrived.emit('notice')
  })
  return {
    notices,
    until: (done: () => boolean) =>
      new Promise<void>((resolve) => {
        if (done()) return resolve()
        const check = () => {
          if (!done()) return
          arrived.off('notice', check)
          resolve()
        }
        arrived.on('notice', check)
      }),
    close: () => client.end(),
  }
}

/** The seqs of `owner` that `notices` announce. */
function announced(notices: Notice[], owner: string): Set<number> {
  const seqs = new Set<number>()
  for (const n of notices.filter((n) => n.o === owner)) for (let s = n.f ?? n.s; s <= n.s; s++) seqs.add(s)
  return seqs
}

const delta = (i: number, size = 0): AgentEvent => ({
  type: 'item.delta',
  itemId: 'i',
  delta: size > 0 ? 'y'.repeat(size) : `${i}`,
})

/**
 * Follows `id` on `log` from seq 0 to its run.completed; `live` resolves once the replay got the stored events up
 * to `replayedTo`, so what is appended after it comes through the bus.
 */
function follow(log: EventLog, id: string, replayedTo: number) {
  const seen: StoredEvent[] = []
  let replayed!: () => void
  const live = new Promise<void>((r) => {
    replayed = r
  })
  const done = (async () => {
    for await (const ev of log.subscribe(
      id,
      0,
      (e) => e.type === 'run.completed',
      async () => false,
    )) {
      seen.push(ev)
      if (ev.seq === replayedTo) replayed()
    }
    return seen
  })()
  return { live, done }
}

describe('PgEventBus: one NOTIFY statement per commit', () => {
  it("announces one commit's events of two owners with one statement and one notice per owner, the events inline", async () => {
    const url = await server.createDatabase()
    const store = await server.openStore(url)
    const counting = countingNotifies(store.pool)
    const bus = await PgEventBus.start(url, counting.pool, 'node_a')
    const listener = await listening(url)
    try {
      // one lane: both owners in one commit (with lanes, each owner's events are a commit of their own lane)
      const log = new EventLog(store, bus, undefined, 1)
      await store.createRun(newRun('run_a'))
      await store.createRun(newRun('run_b'))
      // appended in one go: one commit of 40 events, alternating owners
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => log.append(i % 2 === 0 ? 'run_a' : 'run_b', delta(i))),
      )
      await listener.until(
        () =>
          announced(listener.notices, 'run_a').size === 20 &&
          announced(listener.notices, 'run_b').size === 20,
      )
      expect(counting.statements()).toBe(1)
      expect(listener.notices.map((n) => [n.o, n.f, n.s])).toEqual([
        ['run_a', 1, 20],
        ['run_b', 1, 20],
      ])
      expect(listener.notices[0]!.b?.map((e) => e.seq)).toEqual(Array.from({ length: 19 }, (_, i) => i + 1))
      expect(listener.notices[0]!.e).toMatchObject({ seq: 20, delta: '38' })
    } finally {
      await listener.close()
      await bus.close()
    }
  })

  /** Nodes A and B on one fresh database, A with a PgEventBus; B's bus made by `busOfB`; all closed after `fn`. */
  async function withTwoNodes(
    busOfB: (url: string, storeB: PostgresStore) => Promise<EventBus>,
    fn: (nodes: { logA: EventLog; logB: EventLog; storeA: PostgresStore; url: string }) => Promise<void>,
  ): Promise<void> {
    const url = await server.createDatabase()
    const storeA = await server.openStore(url)
    const storeB = await server.openStore(url)
    const busA = await PgEventBus.start(url, storeA.pool, 'node_a')
    const busB = await busOfB(url, storeB)
    try {
      await fn({ logA: new EventLog(storeA, busA), logB: new EventLog(storeB, busB), storeA, url })
    } finally {
      await busA.close()
      await busB.close()
    }
  }

  /**
   * Node A stores run_c's run.queued, then, once B follows live, 300 deltas (one of 20 kB: a pointer of its own)
   * and the run's end in one commit: B's subscriber streams all of them once, in order.
   */
  async function commitOfManyReachesB(logA: EventLog, logB: EventLog, storeA: PostgresStore): Promise<void> {
    await storeA.createRun(newRun('run_c'))
    await logA.append('run_c', { type: 'run.queued' })
    const reading = follow(logB, 'run_c', 1)
    await reading.live
    const appends = Array.from({ length: 300 }, (_, i) =>
      logA.append('run_c', delta(i, i === 150 ? 20_000 : 0)),
    )
    await Promise.all([...appends, logA.append('run_c', runSucceeded)])
    const seen = await reading.done
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: 302 }, (_, i) => i + 1))
    expect(seen[151]).toMatchObject({ delta: 'y'.repeat(20_000) })
    expect(seen.at(-1)?.type).toBe('run.completed')
  }

  it('a commit of 301 events reaches a subscriber on node B complete and in order (inline notices and a pointer)', async () => {
    await withTwoNodes(
      (url, storeB) => PgEventBus.start(url, storeB.pool, 'node_b'),
      ({ logA, logB, storeA }) => commitOfManyReachesB(logA, logB, storeA),
    )
  })

  it('a node of before (one event per notice: `e`, or the row at `s`) still streams such a commit complete and in order', async () => {
    await withTwoNodes(
      (url, storeB) => olderBus(url, storeB.pool, 'node_b'),
      ({ logA, logB, storeA }) => commitOfManyReachesB(logA, logB, storeA),
    )
  })

  it("a node of before's notices (one event each, inline or a pointer) reach this node's subscribers", async () => {
    await withTwoNodes(
      (url, storeB) => PgEventBus.start(url, storeB.pool, 'node_b'),
      async ({ logB, storeA, url }) => {
        await storeA.createRun(newRun('run_o'))
        await storeA.appendEvent('run_o', { type: 'run.queued' }, 't')
        const reading = follow(logB, 'run_o', 1)
        await reading.live
        const sender = new pg.Client({ connectionString: url })
        await sender.connect()
        try {
          for (const event of [delta(1), delta(2, 20_000), runSucceeded]) {
            const ev = await storeA.appendEvent('run_o', event, 't')
            const old: Notice = { n: 'node_old', o: 'run_o', s: ev.seq, ...(ev.seq === 3 ? {} : { e: ev }) }
            await sender.query('SELECT pg_notify($1, $2)', ['agw_events', JSON.stringify(old)])
          }
        } finally {
          await sender.end()
        }
        expect((await reading.done).map((e) => [e.seq, e.type])).toEqual([
          [1, 'run.queued'],
          [2, 'item.delta'],
          [3, 'item.delta'],
          [4, 'run.completed'],
        ])
      },
    )
  })
})

/**
 * The listening side of PgEventBus as it was before session 16 (a node of the old version in a rolling upgrade):
 * each notice is one event, `e` or the row at `s`. It publishes nothing (node B only reads here).
 */
async function olderBus(url: string, pool: pg.Pool, node: string): Promise<EventBus> {
  const local = new EventEmitter()
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query('LISTEN agw_events')
  client.on('notification', (msg) => {
    void (async () => {
      const notice = JSON.parse(msg.payload!) as { n: string; o: string; s: number; e?: StoredEvent }
      if (notice.n === node || local.listenerCount(notice.o) === 0) return
      let event = notice.e
      if (!event) {
        const { rows } = await pool.query('SELECT body FROM events WHERE owner_id = $1 AND seq = $2', [
          notice.o,
          notice.s,
        ])
        const row = rows[0] as { body: string } | undefined
        event = row ? (JSON.parse(row.body) as StoredEvent) : undefined
      }
      if (event) local.emit(notice.o, event)
    })().catch(() => {})
  })
  return {
    publish: () => {},
    subscribe(owner, listener) {
      local.on(owner, listener)
      return () => local.off(owner, listener)
    },
    close: async () => {
      local.removeAllListeners()
      await client.end()
    },
  }
}
