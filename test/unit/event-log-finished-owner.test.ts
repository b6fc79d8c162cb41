import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { terminalPatch } from '../../src/core/run-record.js'
import type { RunCompletedEvent, StoredEvent } from '../../src/protocol/events.js'
import { terminalStatuses } from '../../src/protocol/runs.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

const completed: RunCompletedEvent = {
  type: 'run.completed',
  status: 'succeeded',
  exitCode: 0,
  signal: null,
  reason: 'exited',
  finalResponse: null,
  usage: null,
}

/** A store whose reads of events say when one made after `armed()` has returned. */
function watched(store: Store) {
  let armed = false
  let readBack: () => void = () => {}
  const tailRead = new Promise<void>((resolve) => {
    readBack = resolve
  })
  const proxy = new Proxy(store, {
    get(target, key) {
      if (key === 'eventsAfter')
        return async (owner: string, after: number, limit: number) => {
          const events = await target.eventsAfter(owner, after, limit)
          if (armed) readBack()
          return events
        }
      const value = Reflect.get(target, key) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { store: proxy, arm: () => (armed = true), tailRead }
}

/** What RunManager.events subscribes with: the end is run.completed, a run is finished by its record. */
function follow(log: EventLog, store: Store, id: string, after: number, onFinishedAsked?: () => void) {
  return log.subscribe(
    id,
    after,
    (ev) => ev.type === 'run.completed',
    async () => {
      onFinishedAsked?.()
      return terminalStatuses.has((await store.getRun(id))?.status ?? 'failed')
    },
  )
}

describe('EventLog.subscribe of an owner whose record says it ended', () => {
  it('a reader that comes after a run is recorded finished but before its run.completed is stored still gets the run.completed', async () => {
    const sqlite = new SqliteStore(path.join(tempDir('finished-owner-'), 'gw.db'))
    stores.push(sqlite)
    await sqlite.createRun(newRun('run_a'))
    const { store, arm, tailRead } = watched(sqlite)
    const log = new EventLog(store, new InProcessEventBus())
    await log.append('run_a', { type: 'run.queued' })
    await log.append('run_a', { type: 'output', stream: 'stdout', data: 'line 1\n' })
    // the record, then the event, as an earlier version wrote a run's end (recordRunEnd: one commit now)
    await sqlite.updateRun('run_a', terminalPatch(completed))

    const reader = follow(log, sqlite, 'run_a', 0, arm)
    const got: StoredEvent[] = []
    for (let i = 0; i < 2; i++) got.push((await reader.next()).value as StoredEvent)
    const next = reader.next()
    // the reader found the record finished and read what was stored since (nothing): it must not end here
    await tailRead
    await log.appendNow('run_a', completed)
    const last = await next
    expect(last.done).toBe(false)
    got.push(last.value as StoredEvent)
    expect(got.map((ev) => [ev.seq, ev.type])).toEqual([
      [1, 'run.queued'],
      [2, 'output'],
      [3, 'run.completed'],
    ])
    expect((await reader.next()).done).toBe(true)
  })

  it('a reader of a finished run whose run.completed never comes (its node died between the two writes) ends after a bounded wait, with what is stored', async () => {
    const store = new SqliteStore(path.join(tempDir('finished-owner-'), 'gw.db'))
    stores.push(store)
    await store.createRun(newRun('run_c'))
    const log = new EventLog(store, new InProcessEventBus())
    log.endGraceMs = 50
    await log.append('run_c', { type: 'run.queued' })
    await log.append('run_c', { type: 'output', stream: 'stdout', data: 'x\n' })
    await store.updateRun('run_c', terminalPatch(completed))
    const seqs: number[] = []
    for await (const ev of follow(log, store, 'run_c', 0)) seqs.push(ev.seq)
    expect(seqs).toEqual([1, 2])
  })

  it('a reader of a finished run ends at once when it resumed at or past the run.completed, and after it otherwise', async () => {
    const store = new SqliteStore(path.join(tempDir('finished-owner-'), 'gw.db'))
    stores.push(store)
    await store.createRun(newRun('run_b'))
    const log = new EventLog(store, new InProcessEventBus())
    await log.append('run_b', { type: 'run.queued' })
    await log.append('run_b', { type: 'output', stream: 'stdout', data: 'x\n' })
    await store.updateRun('run_b', terminalPatch(completed))
    await log.appendNow('run_b', completed)
    const all = async (after: number) => {
      const seqs: number[] = []
      for await (const ev of follow(log, store, 'run_b', after)) seqs.push(ev.seq)
      return seqs
    }
    expect(await all(0)).toEqual([1, 2, 3])
    expect(await all(2)).toEqual([3])
    expect(await all(3)).toEqual([])
    expect(await all(50)).toEqual([])
  })

  it('a reader gets what is stored after the terminal event (history written late) too, then ends', async () => {
    const store = new SqliteStore(path.join(tempDir('finished-owner-'), 'gw.db'))
    stores.push(store)
    await store.createRun(newRun('run_d'))
    const log = new EventLog(store, new InProcessEventBus())
    await log.append('run_d', { type: 'run.queued' })
    await store.updateRun('run_d', terminalPatch(completed))
    await log.appendNow('run_d', completed)
    await log.appendNow('run_d', { type: 'output', stream: 'stderr', data: 'late\n' })
    const seqs: number[] = []
    for await (const ev of follow(log, store, 'run_d', 0)) seqs.push(ev.seq)
    expect(seqs).toEqual([1, 2, 3])
  })
})
