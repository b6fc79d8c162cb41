import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { EventPipe } from '../../src/core/event-pipe.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { EventToAppend } from '../../src/store/store.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

/** A real SQLite store that records the size of every transaction that stores events. */
class CountingStore extends SqliteStore {
  readonly commits: number[] = []
  override async appendEvent(ownerId: string, event: StoredEvent, at: string): Promise<StoredEvent> {
    this.commits.push(1)
    return super.appendEvent(ownerId, event, at)
  }
  override async appendEvents(batch: readonly EventToAppend[]): Promise<StoredEvent[]> {
    this.commits.push(batch.length)
    return super.appendEvents(batch)
  }
}

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

async function setup() {
  const store = new CountingStore(path.join(tempDir('group-commit-'), 'gw.db'))
  stores.push(store)
  await store.createRun(newRun('run_a'))
  await store.createRun(newRun('run_b'))
  const bus = new InProcessEventBus()
  return { store, bus, log: new EventLog(store, bus) }
}

const delta = (i: number) => ({ type: 'item.delta' as const, itemId: 'i', delta: String(i) })

describe('EventLog group commit', () => {
  it('stores the events queued together in one transaction, in order, each resolved with its seq', async () => {
    const { store, log } = await setup()
    const appended = Array.from({ length: 50 }, (_, i) => log.append('run_a', delta(i)))
    appended.push(log.append('run_b', delta(99)))
    const stored = await Promise.all(appended)
    expect(store.commits).toEqual([51])
    expect(stored.slice(0, 50).map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(stored[50]).toMatchObject({ runId: 'run_b', seq: 1, delta: '99' })
    const read = await store.eventsAfter('run_a', 0, 100)
    expect(read.map((e) => (e as { delta: string }).delta)).toEqual(
      Array.from({ length: 50 }, (_, i) => String(i)),
    )
  })

  it('publishes an event only once it is stored, in seq order', async () => {
    const { store, bus, log } = await setup()
    const seen: { seq: number; inStore: boolean }[] = []
    const checks: Promise<void>[] = []
    bus.subscribe('run_a', (ev) => {
      checks.push(
        store.eventsAfter('run_a', ev.seq - 1, 1).then((rows) => {
          seen.push({ seq: ev.seq, inStore: rows[0]?.seq === ev.seq })
        }),
      )
    })
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append('run_a', delta(i))))
    await Promise.all(checks)
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => ({ seq: i + 1, inStore: true })))
  })

  it('one event the store refuses fails alone: the rest of its batch is stored', async () => {
    const { store, log } = await setup()
    const ok1 = log.append('run_a', delta(1))
    const bad = log.append('run_gone', delta(2))
    const ok2 = log.append('run_a', delta(3))
    await expect(bad).rejects.toThrow(/unknown run run_gone/)
    expect((await ok1).seq).toBe(1)
    expect((await ok2).seq).toBe(2)
    expect(store.commits[0]).toBe(3)
  })

  it('events arriving while a commit is in flight form the next group', async () => {
    const { store, log } = await setup()
    const first = log.append('run_a', delta(0))
    await first
    const later = Array.from({ length: 10 }, (_, i) => log.append('run_a', delta(i + 1)))
    await Promise.all(later)
    expect(store.commits).toEqual([1, 10])
  })

  it('after a quiet spell an event is committed and published when its producer returns, before the loop comes round', async () => {
    const { store, bus, log } = await setup()
    await log.append('run_a', delta(0))
    // the condition under test: nothing committed for over a millisecond (the log is idle). Counted from the end of
    // that commit (drain: the log stamps it after the append's waiter resumed), in real time: a stall of the process
    // between the two (a loaded machine) stamped it after a sleep counted from the append had begun, and a timer
    // counts from the loop's cached time, which may be older than the stamp, so it can fire less than 1 ms after it
    await log.drain()
    const quietFrom = performance.now()
    while (performance.now() - quietFrom < 5) await new Promise((resolve) => setTimeout(resolve, 5))
    let loopCameRound = false
    setImmediate(() => {
      loopCameRound = true
    })
    const published: { seq: number; loopCameRound: boolean }[] = []
    const inStore: Promise<boolean>[] = []
    bus.subscribe('run_a', (ev) => {
      published.push({ seq: ev.seq, loopCameRound })
      // (SqliteStore reads at the call: what is stored when the event is published)
      inStore.push(store.eventsAfter('run_a', ev.seq - 1, 1).then((rows) => rows[0]?.seq === ev.seq))
    })
    // what one callback appends (several events of one read) is still one commit, in order
    const stored = await Promise.all([1, 2, 3].map((i) => log.append('run_a', delta(i))))
    expect(stored.map((e) => e.seq)).toEqual([2, 3, 4])
    expect(published).toEqual([2, 3, 4].map((seq) => ({ seq, loopCameRound: false })))
    expect(await Promise.all(inStore)).toEqual([true, true, true])
    expect(store.commits).toEqual([1, 3])
  })

  it('an EventPipe keeps order without awaiting each event, and drain waits for all of them', async () => {
    const { store, log } = await setup()
    const pipe = new EventPipe(log, 'run_a')
    for (let i = 0; i < 300; i++) await pipe.push(delta(i))
    await pipe.drain()
    const read = await store.eventsAfter('run_a', 0, 1000)
    expect(read.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
    // 300 events pushed without waiting for the store share far fewer commits than one each.
    expect(store.commits.length).toBeLessThan(300)
    expect(store.commits.reduce((a, b) => a + b, 0)).toBe(300)
  })

  it('an EventPipe reports a store error on drain and refuses further events', async () => {
    const { log } = await setup()
    const pipe = new EventPipe(log, 'run_missing')
    await pipe.push(delta(0))
    await expect(pipe.drain()).rejects.toThrow(/unknown run run_missing/)
    await expect(pipe.push(delta(1))).rejects.toThrow(/unknown run run_missing/)
  })
})
