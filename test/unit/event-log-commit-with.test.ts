import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { EventToAppend } from '../../src/store/store.js'
import { newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/** A real SQLite store that records the event types of every transaction that stores events. */
class CountingStore extends SqliteStore {
  readonly commits: string[][] = []
  override async appendEvent(...args: Parameters<SqliteStore['appendEvent']>) {
    const stored = await super.appendEvent(...args)
    this.commits.push([stored.type])
    return stored
  }
  override async appendEvents(batch: readonly EventToAppend[]) {
    const stored = await super.appendEvents(batch)
    this.commits.push(stored.map((e) => e.type))
    return stored
  }
  override async completeTurnWithEvents(...args: Parameters<SqliteStore['completeTurnWithEvents']>) {
    const done = await super.completeTurnWithEvents(...args)
    this.commits.push(['(turn end)', ...done.events.map((e) => e.type)])
    return done
  }
}

async function setup() {
  const store = new CountingStore(path.join(tempDir('commit-with-'), 'gw.db'))
  stores.push(store)
  await store.registerNode(nodeRecord('node_a'))
  await store.createSession(newSession('ses_a', { status: 'running' }), 'node_a')
  await store.createTurn(newTurn('turn_a', 'ses_a', { status: 'running' }))
  const bus = new InProcessEventBus()
  const published: StoredEvent[] = []
  const tapped: number[] = []
  bus.subscribe('ses_a', (ev) => published.push(ev))
  const log = new EventLog(store, bus)
  log.tap((ev) => tapped.push(ev.seq))
  return { store, log, published, tapped }
}

const at = '2026-01-01T00:00:01.000Z'

describe('EventLog.commitWith', () => {
  it("stores a turn's end with its events after what was appended before it and before what comes after, publishing in order", async () => {
    const { store, log, published, tapped } = await setup()
    const before = log.append('ses_a', {
      type: 'item.completed',
      item: { id: 'i', type: 'agent_message', text: 'ok' },
    })
    let publishedWhenStored = -1
    const ended = log.commitWith('ses_a', async () => {
      const done = await store.completeTurnWithEvents(
        'turn_a',
        { status: 'completed' },
        at,
        'idle',
        undefined,
        (step) => [
          {
            ownerId: 'ses_a',
            event: { type: 'turn.completed', turnId: 'turn_a', status: 'completed', usage: null },
            at,
          },
          { ownerId: 'ses_a', event: { type: 'session.status', status: step!.status! }, at },
        ],
      )
      // nothing of the write is published before it is stored
      publishedWhenStored = published.length
      return done
    })
    const after = log.append('ses_a', { type: 'session.status', status: 'running' })
    const [first, { step, events }, last] = await Promise.all([before, ended, after])
    expect(first.seq).toBe(1)
    expect(step?.status).toBe('idle')
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [2, 'turn.completed'],
      [3, 'session.status'],
    ])
    expect(last.seq).toBe(4)
    expect(publishedWhenStored).toBe(1)
    expect(published.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(tapped).toEqual([1, 2, 3, 4])
  })

  it('a refused write fails its caller alone: what was appended around it is stored', async () => {
    const { log, published } = await setup()
    const before = log.append('ses_a', { type: 'session.status', status: 'running' })
    const refused = log.commitWith('ses_a', async () => {
      throw new Error('refused')
    })
    const after = log.append('ses_a', { type: 'session.status', status: 'idle' })
    await expect(refused).rejects.toThrow('refused')
    expect((await before).seq).toBe(1)
    expect((await after).seq).toBe(2)
    expect(published.map((e) => e.seq)).toEqual([1, 2])
  })
})

/** The turn's end as SessionState.completeTurn writes it, with `pending` first. */
const turnEnd =
  (store: SqliteStore, turnId = 'turn_a') =>
  (pending: readonly EventToAppend[]) =>
    store.completeTurnWithEvents(turnId, { status: 'completed' }, at, 'idle', undefined, () => [
      ...pending,
      {
        ownerId: 'ses_a',
        event: { type: 'turn.completed', turnId, status: 'completed', usage: null },
        at,
      },
    ])

const message = { type: 'item.completed', item: { id: 'i', type: 'agent_message', text: 'ok' } } as const

describe('EventLog.commitWithPending', () => {
  it("stores the owner's events queued right before it in its own transaction, first; each append resolves with its event", async () => {
    const { store, log, published, tapped } = await setup()
    const first = log.append('ses_a', message)
    const second = log.append('ses_a', { type: 'session.status', status: 'running' })
    const ended = log.commitWithPending('ses_a', turnEnd(store))
    const [a, b, { events }] = await Promise.all([first, second, ended])
    expect(store.commits).toEqual([['(turn end)', 'item.completed', 'session.status', 'turn.completed']])
    expect([a.seq, b.seq]).toEqual([1, 2])
    // the write's own events
    expect(events.map((e) => [e.seq, e.type])).toEqual([[3, 'turn.completed']])
    expect(published.map((e) => e.seq)).toEqual([1, 2, 3])
    expect(tapped).toEqual([1, 2, 3])
  })

  it('leaves the events of another owner queued before it to a commit of their own', async () => {
    const { store, log, published } = await setup()
    await store.createSession(newSession('ses_b'), 'node_a')
    const other = log.append('ses_b', message)
    const own = log.append('ses_a', message)
    await Promise.all([other, own, log.commitWithPending('ses_a', turnEnd(store))])
    expect(store.commits).toEqual([
      ['item.completed', 'item.completed'],
      ['(turn end)', 'turn.completed'],
    ])
    expect(published.map((e) => [e.sessionId, e.seq])).toEqual([
      ['ses_a', 1],
      ['ses_a', 2],
    ])
  })

  it('a write refused in their transaction: the events are stored on their own, then the write runs alone and fails alone', async () => {
    const { store, log, published } = await setup()
    const before = log.append('ses_a', message)
    let attempts = 0
    const refused = log.commitWithPending('ses_a', async () => {
      attempts++
      throw new Error('refused')
    })
    await expect(refused).rejects.toThrow('refused')
    expect((await before).seq).toBe(1)
    expect(attempts).toBe(2)
    expect(store.commits).toEqual([['item.completed']])
    expect(published.map((e) => e.seq)).toEqual([1])
  })

  it("an event refused in their transaction fails the write with that event's error, without running it alone", async () => {
    const { store, log } = await setup()
    const claim = await store.claimSession('ses_a', 'node_a')
    // a stale claim: the store refuses the event (SessionTakenOver), in any transaction
    const stale = log.append('ses_a', message, claim - 1)
    stale.catch(() => {})
    const writes: number[] = []
    const ended = log.commitWithPending('ses_a', async (pending) => {
      writes.push(pending.length)
      return turnEnd(store)(pending)
    })
    await expect(stale).rejects.toThrow(/taken over/)
    await expect(ended).rejects.toThrow(/taken over/)
    expect(writes).toEqual([1])
    expect(await store.getTurn('turn_a')).toMatchObject({ status: 'running' })
    expect(await store.eventsAfter('ses_a', 0, 10)).toEqual([])
  })

  it('a write that stores nothing (its turn is unknown) leaves the events to a commit of their own after it', async () => {
    const { store, log, published } = await setup()
    const before = log.append('ses_a', message)
    const { events } = await log.commitWithPending('ses_a', async (pending) => {
      expect(pending).toHaveLength(1)
      return { events: [] as StoredEvent[] }
    })
    expect(events).toEqual([])
    expect((await before).seq).toBe(1)
    expect(store.commits).toEqual([['item.completed']])
    expect(published.map((e) => e.seq)).toEqual([1])
  })
})
