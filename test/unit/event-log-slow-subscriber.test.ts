import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/** The store, counting its reads of events. */
function counting(store: Store) {
  const reads = { count: 0 }
  const proxy = new Proxy(store, {
    get(target, key) {
      if (key === 'eventsAfter')
        return (owner: string, after: number, limit: number) => {
          reads.count++
          return target.eventsAfter(owner, after, limit)
        }
      const value = Reflect.get(target, key) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { store: proxy, reads }
}

/**
 * A subscriber that does not read (a client that never reads its stream) holds at most about 1 MB of a run's output:
 * past that it drops what it holds and later reads it back from the store, a page at a time. Before, the bound was
 * 1000 events only, and an event of coalesced output holds up to 64 KB: 64 MB per such client.
 */
describe('a slow subscriber of a run with much output', () => {
  it('past 1 MB buffered it catches up from the store: every event once, in order', async () => {
    const sqlite = new SqliteStore(path.join(tempDir('slow-subscriber-'), 'gw.db'))
    stores.push(sqlite)
    await sqlite.createRun(newRun('run_slow'))
    const { store, reads } = counting(sqlite)
    const log = new EventLog(store)
    const events = log.subscribe(
      'run_slow',
      0,
      (ev) => ev.type === 'run.completed',
      async () => false,
    )
    const chunk = 'x'.repeat(60_000)
    const first = events.next()
    await log.append('run_slow', { type: 'output', stream: 'stdout', data: `0 ${chunk}` })
    const seen: StoredEvent[] = [(await first).value as StoredEvent]
    // it holds the first and reads no more while 40 more (2.4 MB) come
    for (let i = 1; i <= 40; i++)
      await log.append('run_slow', { type: 'output', stream: 'stdout', data: `${i} ${chunk}` })
    await log.append('run_slow', {
      type: 'run.completed',
      status: 'succeeded',
      exitCode: 0,
      signal: null,
      reason: 'exited',
      finalResponse: null,
      usage: null,
    })
    const before = reads.count
    for await (const ev of events) seen.push(ev)
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1))
    expect(seen.at(-1)?.type).toBe('run.completed')
    // what it dropped came back from the store
    expect(reads.count).toBeGreaterThan(before)
  })
})
