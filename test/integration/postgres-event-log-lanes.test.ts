import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { PgEventBus } from '../../src/store/postgres/pg-event-bus.js'
import { defaultPgTimeouts, PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { SessionTakenOver } from '../../src/store/store.js'
import { newRun, newSession, newTurn, nodeRecord, runSucceeded } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'

const server = sharedPostgres()
const at = '2026-01-01T00:00:01.000Z'

/** An event that says which of its owner's appends it was. */
const nth = (i: number): AgentEvent => ({ type: 'item.delta', itemId: 'i', delta: String(i) })
const indexOf = (ev: StoredEvent) => Number((ev as { delta?: string }).delta)

/**
 * A store on a fresh database (closed by `close`) with `sessions` on node_a, turn_a running in ses_a; a lock
 * timeout of 3 s, so a commit that waits behind a held row fails in bounded time instead of hanging a test. The
 * log has the store's lanes (PostgresStore.commitLanes: more than one).
 */
async function setup(sessions: string[]) {
  const url = await server.createDatabase()
  const store = await PostgresStore.open(url, { timeouts: { ...defaultPgTimeouts, lockMs: 3000 } })
  await store.registerNode(nodeRecord('node_a'))
  for (const id of sessions) await store.createSession(newSession(id), 'node_a')
  await store.createTurn(newTurn('turn_a', 'ses_a', { status: 'running' }))
  const bus = new InProcessEventBus()
  const published = new Map<string, StoredEvent[]>(sessions.map((id) => [id, []]))
  for (const id of sessions) bus.subscribe(id, (ev) => published.get(id)!.push(ev))
  const log = new EventLog(store, bus)
  /** The transaction (xmin) each stored event row of `owner` was written in, by seq. */
  const transactions = async (owner: string) =>
    (
      await store.pool.query<{ xmin: string }>(
        'SELECT xmin::text FROM events WHERE owner_id = $1 ORDER BY seq',
        [owner],
      )
    ).rows.map((r) => r.xmin)
  return { url, store, log, bus, published, transactions, close: () => store.close() }
}

/** A plain connection holding the rows of `sessions` locked (FOR UPDATE) until `release`. */
async function holdRows(url: string, sessions: string[]) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await client.query('BEGIN')
  await client.query('SELECT 1 FROM sessions WHERE id = ANY($1) FOR UPDATE', [sessions])
  return {
    release: async () => {
      await client.query('ROLLBACK')
      await client.end()
    },
  }
}

describe('EventLog on PostgreSQL: lanes commit different owners at once', () => {
  it("a commit of one owner that waits does not hold back another owner's: both are in flight at once", async () => {
    const { url, store, log, close } = await setup(['ses_a', 'ses_b'])
    const held = await holdRows(url, ['ses_a'])
    try {
      expect(store.commitLanes).toBeGreaterThan(1)
      const settled: string[] = []
      // ses_a's commit starts and waits for its row (held above)
      const a = log.append('ses_a', nth(0)).finally(() => settled.push('ses_a'))
      log.commitNow()
      // ses_b's goes to another lane: stored while ses_a's is still waiting (one lane: after it, once the lock
      // wait failed)
      const b = await log.append('ses_b', nth(0)).finally(() => settled.push('ses_b'))
      expect(b.seq).toBe(1)
      expect(settled).toEqual(['ses_b'])
      await held.release()
      expect((await a).seq).toBe(1)
      expect(settled).toEqual(['ses_b', 'ses_a'])
    } finally {
      await held.release().catch(() => {})
      await close()
    }
  })

  it("keeps each owner's order and seqs with many owners appending and committing steps at once", async () => {
    const sessions = Array.from({ length: 8 }, (_, i) => `ses_${i}`)
    const { store, log, published, close } = await setup(['ses_a', ...sessions])
    try {
      const perOwner = 60
      const resolved = new Map<string, number[]>(sessions.map((id) => [id, []]))
      // each owner's producer: events not awaited, awaited ones, and store steps (commitWith), so that owners
      // come and go from lanes while others commit
      const produce = async (id: string, k: number) => {
        const pending: Promise<void>[] = []
        for (let i = 0; i < perOwner; i++) {
          const record = (seq: number) => {
            resolved.get(id)![i] = seq
          }
          if ((i + k) % 9 === 0) {
            const { events } = await log.commitWith(id, async (tx = store) => ({
              events: await tx.appendEvents([{ ownerId: id, event: nth(i), at }]),
            }))
            record(events[0]!.seq)
          } else if ((i + k) % 4 === 0) record((await log.append(id, nth(i))).seq)
          else pending.push(log.append(id, nth(i)).then((ev) => record(ev.seq)))
        }
        await Promise.all(pending)
      }
      await Promise.all(sessions.map((id, k) => produce(id, k)))
      for (const id of sessions) {
        const stored = await store.eventsAfter(id, 0, 1000)
        const inOrder = Array.from({ length: perOwner }, (_, i) => i)
        expect(stored.map(indexOf)).toEqual(inOrder)
        expect(stored.map((e) => e.seq)).toEqual(inOrder.map((i) => i + 1))
        expect(resolved.get(id)).toEqual(inOrder.map((i) => i + 1))
        expect(published.get(id)!.map(indexOf)).toEqual(inOrder)
      }
    } finally {
      await close()
    }
  })

  it("a group refused in one lane is committed part by part there; another lane's group commits whole beside it", async () => {
    const { url, store, log, published, transactions, close } = await setup(['ses_a', 'ses_b'])
    const claim = await store.claimSession('ses_a', 'node_a')
    const held = await holdRows(url, ['ses_a', 'ses_b'])
    try {
      // both lanes busy (their first commits wait for the rows), so what follows queues up as one group per lane
      const firsts = [log.append('ses_a', nth(0)), log.append('ses_b', nth(0))]
      log.commitNow()
      const a1 = log.append('ses_a', nth(1))
      // a claim the session no longer has: refused (SessionTakenOver), its lane's group with it
      const refused = log
        .commitWith('ses_a', (tx = store) =>
          tx.updateTurnWithEvents('turn_a', { agentTurnId: 'x' }, undefined, claim - 1, () => [
            { ownerId: 'ses_a', event: { type: 'turn.started', turnId: 'turn_a' }, at },
          ]),
        )
        // its refusal, held from now on (it may come before the checks below)
        .then(
          () => undefined,
          (err: unknown) => err,
        )
      const a2 = log.append('ses_a', nth(2))
      const b1 = log.append('ses_b', nth(1))
      const stepB = log.commitWith('ses_b', async (tx = store) => ({
        events: await tx.appendEvents([{ ownerId: 'ses_b', event: nth(2), at }]),
      }))
      const b3 = log.append('ses_b', nth(3))
      await held.release()
      await Promise.all(firsts)
      expect(await refused).toBeInstanceOf(SessionTakenOver)
      expect([(await a1).seq, (await a2).seq]).toEqual([2, 3])
      expect([(await b1).seq, (await stepB).events[0]!.seq, (await b3).seq]).toEqual([2, 3, 4])
      // ses_a's lane: each part alone (three transactions); ses_b's: its group in one
      const [a0x, a1x, a2x] = await transactions('ses_a')
      expect(new Set([a0x, a1x, a2x]).size).toBe(3)
      const [b0x, ...group] = await transactions('ses_b')
      expect(group).toHaveLength(3)
      expect(new Set(group).size).toBe(1)
      expect(group[0]).not.toBe(b0x)
      expect(published.get('ses_a')!.map(indexOf)).toEqual([0, 1, 2])
      expect(published.get('ses_b')!.map(indexOf)).toEqual([0, 1, 2, 3])
      expect((await store.getTurn('turn_a'))?.agentTurnId ?? null).toBeNull()
    } finally {
      await held.release().catch(() => {})
      await close()
    }
  })

  it('publishes nothing before it is stored: every event a subscriber gets is in the table then', async () => {
    const sessions = Array.from({ length: 6 }, (_, i) => `ses_${i}`)
    const { url, store, log, bus, close } = await setup(['ses_a', ...sessions])
    const reader = new pg.Pool({ connectionString: url, max: 4 })
    try {
      // connections of their own ask for each event's row as soon as the subscriber gets it
      const checks: Promise<number>[] = []
      for (const id of sessions)
        bus.subscribe(id, (ev) => {
          checks.push(
            reader
              .query('SELECT count(*)::int AS n FROM events WHERE owner_id = $1 AND seq = $2', [id, ev.seq])
              .then((r) => (r.rows[0] as { n: number }).n),
          )
        })
      await Promise.all(
        sessions.flatMap((id) =>
          Array.from({ length: 40 }, (_, i) =>
            i % 10 === 9
              ? log.commitWith(id, async (tx = store) => ({
                  events: await tx.appendEvents([{ ownerId: id, event: nth(i), at }]),
                }))
              : log.append(id, nth(i)),
          ),
        ),
      )
      expect(checks).toHaveLength(sessions.length * 40)
      expect(new Set(await Promise.all(checks))).toEqual(new Set([1]))
    } finally {
      await reader.end()
      await close()
    }
  })

  it("a subscriber on another node gets every run's events in order while the runs' commits run in several lanes", async () => {
    const url = await server.createDatabase()
    const storeA = await server.openStore(url)
    const storeB = await server.openStore(url)
    const busA = await PgEventBus.start(url, storeA.pool, 'node_a')
    const busB = await PgEventBus.start(url, storeB.pool, 'node_b')
    try {
      const logA = new EventLog(storeA, busA)
      const logB = new EventLog(storeB, busB)
      const runs = Array.from({ length: 6 }, (_, i) => `run_${i}`)
      for (const id of runs) {
        await storeA.createRun(newRun(id))
        await logA.append(id, { type: 'run.queued' })
      }
      // B follows each run live from seq 1, to its run.completed
      const following = runs.map((id) => {
        let live!: () => void
        const replayed = new Promise<void>((r) => {
          live = r
        })
        const done = (async () => {
          const seen: StoredEvent[] = []
          for await (const ev of logB.subscribe(
            id,
            0,
            (e) => e.type === 'run.completed',
            async () => false,
          )) {
            seen.push(ev)
            if (ev.seq === 1) live()
          }
          return seen
        })()
        return { replayed, done }
      })
      await Promise.all(following.map((f) => f.replayed))
      // bursts, some awaited, so that runs leave their lanes and come back to others between commits
      await Promise.all(
        runs.map(async (id, k) => {
          for (let burst = 0; burst < 6; burst++) {
            const appends = Array.from({ length: 5 + k }, (_, i) => logA.append(id, nth(burst * 100 + i)))
            if (burst % 2 === k % 2) await Promise.all(appends)
          }
          await logA.appendNow(id, runSucceeded)
        }),
      )
      for (const [k, { done }] of following.entries()) {
        const seen = await done
        const count = 1 + 6 * (5 + k) + 1
        expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1))
        expect(seen.at(-1)?.type).toBe('run.completed')
      }
    } finally {
      await busA.close()
      await busB.close()
    }
  })

  it('drain: everything queued on every lane is stored and published when it resolves', async () => {
    const sessions = Array.from({ length: 6 }, (_, i) => `ses_${i}`)
    const { store, log, published, close } = await setup(['ses_a', ...sessions])
    try {
      let settled = 0
      for (const id of sessions)
        for (let i = 0; i < 50; i++) {
          const done =
            i % 10 === 9
              ? log.commitWith(id, async (tx = store) => ({
                  events: await tx.appendEvents([{ ownerId: id, event: nth(i), at }]),
                }))
              : log.append(id, nth(i))
          void done.then(() => settled++)
        }
      await log.drain()
      expect(log.backlog).toBe(0)
      const { rows } = await store.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')
      expect(rows[0]!.n).toBe(sessions.length * 50)
      for (const id of sessions) expect(published.get(id)).toHaveLength(50)
      // and their promises settle (a microtask later) with nothing more to wait for
      await Promise.resolve()
      expect(settled).toBe(sessions.length * 50)
    } finally {
      await close()
    }
  })
})
