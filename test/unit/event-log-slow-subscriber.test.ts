import path from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { findGc } from '../../bench/gc.js'
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

/** The store, counting its reads of events (and the limit of each). */
function counting(store: Store) {
  const reads = { count: 0, limits: [] as number[] }
  const proxy = new Proxy(store, {
    get(target, key) {
      if (key === 'eventsAfter')
        return (owner: string, after: number, limit: number) => {
          reads.count++
          reads.limits.push(limit)
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

  it('while it catches up, the events it handed on are not held for it (a stalled stream waits at one)', async () => {
    const { gc } = findGc()
    if (!gc) throw new Error('no gc for this test')
    const sqlite = new SqliteStore(path.join(tempDir('slow-subscriber-'), 'gw.db'))
    stores.push(sqlite)
    await sqlite.createRun(newRun('run_held'))
    const log = new EventLog(sqlite)
    const events = log.subscribe(
      'run_held',
      0,
      (ev) => ev.type === 'run.completed',
      async () => false,
    )
    const chunk = 'x'.repeat(60_000)
    const first = events.next()
    await log.append('run_held', { type: 'output', stream: 'stdout', data: `0 ${chunk}` })
    expect((await first).value).toMatchObject({ seq: 1 })
    // 40 more (2.4 MB) while it reads nothing: past its buffer, it will read them back from the store
    for (let i = 1; i <= 40; i++)
      await log.append('run_held', { type: 'output', stream: 'stdout', data: `${i} ${chunk}` })
    // it hands on ten of them (one page read back) and is then read no more, as a client that stopped reading
    const handedOn: WeakRef<StoredEvent>[] = []
    for (let i = 0; i < 10; i++) {
      const ev = (await events.next()).value as StoredEvent
      expect(ev.seq).toBe(i + 2)
      handedOn.push(new WeakRef(ev))
    }
    await nextTurn()
    gc()
    // the one it waits at is its own; the nine before it are nobody's any more
    expect(handedOn.filter((ref) => ref.deref() !== undefined).map((ref) => ref.deref()!.seq)).toEqual([11])
    await log.append('run_held', {
      type: 'run.completed',
      status: 'succeeded',
      exitCode: 0,
      signal: null,
      reason: 'exited',
      finalResponse: null,
      usage: null,
    })
    const rest: number[] = []
    for await (const ev of events) rest.push(ev.seq)
    expect(rest).toEqual(Array.from({ length: 31 }, (_, i) => i + 12))
  })

  it('replays a run of large events in pages of about 1 MB, not 500 events, and of small ones in pages of 500 after the first', async () => {
    const sqlite = new SqliteStore(path.join(tempDir('slow-subscriber-'), 'gw.db'))
    stores.push(sqlite)
    await sqlite.createRun(newRun('run_large'))
    await sqlite.createRun(newRun('run_small'))
    const { store, reads } = counting(sqlite)
    const log = new EventLog(store)
    const completed = {
      type: 'run.completed',
      status: 'succeeded',
      exitCode: 0,
      signal: null,
      reason: 'exited',
      finalResponse: null,
      usage: null,
    } as const
    const chunk = 'x'.repeat(60_000)
    for (let i = 0; i < 60; i++)
      await log.append('run_large', { type: 'output', stream: 'stdout', data: `${i} ${chunk}` })
    await log.append('run_large', completed)
    for (let i = 0; i < 600; i++)
      await log.append('run_small', { type: 'output', stream: 'stdout', data: `${i}` })
    await log.append('run_small', completed)
    const replay = async (runId: string) => {
      reads.limits.length = 0
      const seqs: number[] = []
      for await (const ev of log.subscribe(
        runId,
        0,
        (ev) => ev.type === 'run.completed',
        async () => true,
      ))
        seqs.push(ev.seq)
      return seqs
    }
    expect(await replay('run_large')).toEqual(Array.from({ length: 61 }, (_, i) => i + 1))
    // a client that stops reading during the replay holds the rest of one page: at most ~1 MB of output
    expect(Math.max(...reads.limits)).toBeLessThanOrEqual(17)
    expect(await replay('run_small')).toEqual(Array.from({ length: 601 }, (_, i) => i + 1))
    expect(reads.limits.slice(0, 2)).toEqual([16, 500])
  })
})
