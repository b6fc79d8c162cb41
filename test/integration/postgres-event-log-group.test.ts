import { describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SessionTakenOver } from '../../src/store/store.js'
import { newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'

const server = sharedPostgres()
const at = '2026-01-01T00:00:01.000Z'

/** Sessions ses_a (turn_a running) and ses_b on node_a, an EventLog on the store, what it published. */
async function setup() {
  const store = await server.openStore()
  await store.registerNode(nodeRecord('node_a'))
  await store.createSession(newSession('ses_a', { status: 'running' }), 'node_a')
  await store.createSession(newSession('ses_b'), 'node_a')
  await store.createTurn(newTurn('turn_a', 'ses_a', { status: 'running' }))
  const bus = new InProcessEventBus()
  const published: StoredEvent[] = []
  for (const id of ['ses_a', 'ses_b']) bus.subscribe(id, (ev) => published.push(ev))
  // one lane: the group of both sessions' entries is one commit (lanes: postgres-event-log-lanes.test.ts)
  const log = new EventLog(store, bus, undefined, 1)
  /** The transaction (xmin) each stored event row was written in, by owner and seq. */
  const transactions = async () =>
    (
      await store.pool.query<{ owner_id: string; seq: number; xmin: string }>(
        'SELECT owner_id, seq, xmin::text FROM events ORDER BY owner_id, seq',
      )
    ).rows.map((r) => [`${r.owner_id}#${r.seq}`, r.xmin])
  return { store, log, published, transactions }
}

const completed = { type: 'turn.completed', turnId: 'turn_a', status: 'completed', usage: null } as const

describe('EventLog on PostgreSQL: a store step queued with events commits with them', () => {
  it("events of several sessions and a turn's end queued together are stored in one transaction, in queue order", async () => {
    const { store, log, published, transactions } = await setup()
    const before = log.append('ses_a', {
      type: 'item.completed',
      item: { id: 'i', type: 'agent_message', text: 'ok' },
    })
    const other = log.append('ses_b', { type: 'session.status', status: 'running' })
    const ended = log.commitWith('ses_a', (tx = store) =>
      tx.completeTurnWithEvents('turn_a', { status: 'completed' }, at, 'idle', undefined, () => [
        { ownerId: 'ses_a', event: completed, at },
      ]),
    )
    const [first, second, { events }] = await Promise.all([before, other, ended])
    expect([first.seq, second.seq, events.map((e) => e.seq)]).toEqual([1, 1, [2]])
    const rows = await transactions()
    expect(rows.map(([key]) => key)).toEqual(['ses_a#1', 'ses_a#2', 'ses_b#1'])
    // one transaction: one xmin
    expect(new Set(rows.map(([, xmin]) => xmin)).size).toBe(1)
    expect(published.map((e) => [e.sessionId, e.type])).toEqual([
      ['ses_a', 'item.completed'],
      ['ses_b', 'session.status'],
      ['ses_a', 'turn.completed'],
    ])
    expect((await store.getTurn('turn_a'))?.status).toBe('completed')
  })

  it('a refused step in a group fails its caller alone: the events queued around it are stored and published in order', async () => {
    const { store, log, published } = await setup()
    const claim = await store.claimSession('ses_a', 'node_a')
    const before = log.append('ses_b', { type: 'session.status', status: 'running' })
    // a claim the session no longer has: refused (SessionTakenOver), nothing of it stored
    const refused = log.commitWith('ses_a', (tx = store) =>
      tx.updateTurnWithEvents('turn_a', { agentTurnId: 'x' }, undefined, claim - 1, () => [
        { ownerId: 'ses_a', event: { type: 'turn.started', turnId: 'turn_a' }, at },
      ]),
    )
    const after = log.append('ses_b', { type: 'session.status', status: 'idle' })
    await expect(refused).rejects.toBeInstanceOf(SessionTakenOver)
    expect([(await before).seq, (await after).seq]).toEqual([1, 2])
    expect(published.map((e) => [e.sessionId, e.seq])).toEqual([
      ['ses_b', 1],
      ['ses_b', 2],
    ])
    expect((await store.getTurn('turn_a'))?.agentTurnId ?? null).toBeNull()
    expect(await store.eventsAfter('ses_a', 0, 10)).toEqual([])
  })

  it('a store call that failed inside a step stores nothing, even when the step catches its failure', async () => {
    const { store, log } = await setup()
    const before = log.append('ses_b', { type: 'session.status', status: 'running' })
    const step = log.commitWith('ses_a', async (tx = store) => {
      // all or none: its first event must not be stored (no such session for the second)
      await tx
        .appendEvents([
          { ownerId: 'ses_a', event: completed, at },
          { ownerId: 'ses_none', event: completed, at },
        ])
        .catch(() => {})
      return { events: [] }
    })
    await step
    expect((await before).seq).toBe(1)
    expect(await store.eventsAfter('ses_a', 0, 10)).toEqual([])
    // nor its seq bump (a gap)
    expect((await store.getSession('ses_a'))?.lastSeq).toBe(0)
    expect((await store.eventsAfter('ses_b', 0, 10)).map((e) => e.type)).toEqual(['session.status'])
  })

  it('a statement that failed inside a step (caught) does not lose what the group stored: each part is stored alone', async () => {
    const { store, log } = await setup()
    const before = log.append('ses_b', { type: 'session.status', status: 'running' })
    const step = log.commitWith('ses_a', async (tx = store) => {
      const events = await tx.appendEvents([{ ownerId: 'ses_a', event: completed, at }])
      // a duplicate key: PostgreSQL fails the transaction it runs in (its COMMIT only rolls back)
      await tx.createTurn(newTurn('turn_a', 'ses_a')).catch(() => {})
      return { events }
    })
    expect((await step).events.map((e) => e.seq)).toEqual([1])
    expect((await before).seq).toBe(1)
    // what resolved is stored
    expect((await store.eventsAfter('ses_a', 0, 10)).map((e) => e.type)).toEqual(['turn.completed'])
    expect((await store.eventsAfter('ses_b', 0, 10)).map((e) => e.type)).toEqual(['session.status'])
  })
})
