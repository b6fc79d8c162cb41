import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { EventPipe } from '../../src/core/event-pipe.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { EventFence, EventToAppend } from '../../src/store/store.js'
import { markNotStarted } from '../../src/util/store-unavailable.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

/** A real SQLite store whose writes fail as PostgreSQL's do while it is down (`refusing`), `refused` counting them. */
class OutageStore extends SqliteStore {
  refusing: (() => Error) | undefined
  refused = 0
  private refuse(): void {
    if (!this.refusing) return
    this.refused++
    this.onRefused?.()
    throw this.refusing()
  }
  onRefused: (() => void) | undefined
  override async appendEvent(ownerId: string, event: StoredEvent, at: string, fence?: EventFence) {
    this.refuse()
    return super.appendEvent(ownerId, event, at, fence)
  }
  override async appendEvents(batch: readonly EventToAppend[]): Promise<StoredEvent[]> {
    this.refuse()
    return super.appendEvents(batch)
  }
}

/** A connection refused before the transaction started, as the PostgreSQL store marks it. */
const refusedConnection = () => {
  const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  markNotStarted(err)
  return err
}
/** The connection lost mid-transaction: what it wrote may be stored, so it is not tried again. */
const lostMidTransaction = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

async function setup(graceMs: number) {
  const store = new OutageStore(path.join(tempDir('outage-'), 'gw.db'))
  stores.push(store)
  await store.createRun(newRun('run_a'))
  await store.createRun(newRun('run_b'))
  const bus = new InProcessEventBus()
  const log = new EventLog(store, bus)
  log.outageGraceMs = () => graceMs
  const published: StoredEvent[] = []
  bus.subscribe('run_a', (ev) => published.push(ev))
  return { store, log, published }
}

const delta = (i: number) => ({ type: 'item.delta' as const, itemId: 'i', delta: String(i) })
const refusedTwice = (store: OutageStore) =>
  new Promise<void>((resolve) => {
    store.onRefused = () => {
      if (store.refused >= 2) resolve()
    }
  })

/**
 * A run's or a turn's events (EventPipe) ride over a brief store outage: refused before their transaction started,
 * they are held in order and tried again within the grace, published only once stored; a write not held (a
 * request's) fails at once, as does one lost mid-transaction. health-store-down.test.ts stops and starts a real
 * PostgreSQL under a codex run and turn.
 */
describe('EventLog through a store outage', () => {
  it('holds a pipe’s events while connections are refused, then stores them in order, each once', async () => {
    const { store, log, published } = await setup(10_000)
    store.refusing = refusedConnection
    const pipe = new EventPipe(log, 'run_a')
    const waits: (Promise<void> | undefined)[] = []
    for (let i = 0; i < 5; i++) waits.push(pipe.push(delta(i)))
    await refusedTwice(store)
    expect(log.holding).toBe(true)
    // while the log holds, each push waits for its event (its producer stops reading)
    expect(pipe.push(delta(5))).toBeInstanceOf(Promise)
    expect(published).toEqual([])
    store.refusing = undefined
    await pipe.drain()
    expect(log.holding).toBe(false)
    const stored = await store.eventsAfter('run_a', 0, 100)
    expect(stored.map((e) => [e.seq, (e as { delta: string }).delta])).toEqual(
      Array.from({ length: 6 }, (_, i) => [i + 1, String(i)]),
    )
    expect(published).toEqual(stored)
  })

  it('fails them as before past the grace, at once with grace 0, when lost mid-transaction or at the stop', async () => {
    const past = await setup(300)
    past.store.refusing = refusedConnection
    const pipe = new EventPipe(past.log, 'run_a')
    pipe.push(delta(0))
    await expect(pipe.drain()).rejects.toThrow(/ECONNREFUSED/)
    expect(past.store.refused).toBeGreaterThan(1)
    for (const [graceMs, refusing] of [
      [0, refusedConnection],
      [10_000, lostMidTransaction],
    ] as const) {
      const { store, log } = await setup(graceMs)
      store.refusing = refusing
      const failing = new EventPipe(log, 'run_a')
      failing.push(delta(0))
      await expect(failing.drain()).rejects.toThrow(/ECONN/)
      expect(store.refused).toBe(1)
    }
    // the gateway stops (EventLog.drain): what is held fails now, not at the end of its grace
    const stopping = await setup(60_000)
    stopping.store.refusing = refusedConnection
    const held = new EventPipe(stopping.log, 'run_a')
    held.push(delta(0))
    await refusedTwice(stopping.store)
    await stopping.log.drain()
    await expect(held.drain()).rejects.toThrow(/ECONNREFUSED/)
    // a write that is not held (a request's) fails at once
    const { store, log } = await setup(10_000)
    store.refusing = refusedConnection
    await expect(log.append('run_b', delta(99))).rejects.toThrow(/ECONNREFUSED/)
    expect(store.refused).toBe(1)
  })

  it('counts what it holds, tells an outage given up once and one ridden over, and tries again at once when woken', async () => {
    const told: string[] = []
    const notices = {
      held: () => told.push('held'),
      gaveUp: () => told.push('gaveUp'),
      over: (_ms: number, gaveUp: boolean) => told.push(gaveUp ? 'back' : 'ridden'),
    }
    // ridden over: held entries counted until stored; their next try a minute away, woken by the store's answer
    const ride = await setup(120_000)
    ride.log.outageNotices = notices
    ride.log.outageRetryMs = [60_000]
    ride.store.refusing = refusedConnection
    const pipe = new EventPipe(ride.log, 'run_a')
    for (let i = 0; i < 3; i++) pipe.push(delta(i))
    // refused, and its wait (a minute) begun
    await new Promise<void>((resolve) => {
      ride.store.onRefused = () => setImmediate(resolve)
    })
    expect(ride.log.held).toBeGreaterThan(0)
    ride.store.refusing = undefined
    const started = performance.now()
    ride.log.storeBack()
    await pipe.drain()
    expect(performance.now() - started).toBeLessThan(5000)
    expect(ride.log.held).toBe(0)
    expect(told).toEqual(['held', 'ridden'])
    // past its grace: given up once for the outage, however many of its entries fail; then back, not ridden
    told.length = 0
    const past = await setup(200)
    past.log.outageNotices = notices
    past.store.refusing = refusedConnection
    const a = new EventPipe(past.log, 'run_a')
    a.push(delta(0))
    await expect(a.drain()).rejects.toThrow(/ECONNREFUSED/)
    const b = new EventPipe(past.log, 'run_b')
    b.push(delta(1))
    await expect(b.drain()).rejects.toThrow(/ECONNREFUSED/)
    expect(past.log.held).toBe(0)
    past.store.refusing = undefined
    const c = new EventPipe(past.log, 'run_b')
    c.push(delta(2))
    await c.drain()
    expect(told).toEqual(['held', 'gaveUp', 'back'])
  })
})
