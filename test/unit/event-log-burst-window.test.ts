import path from 'node:path'
import { setImmediate as loopTurn } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { maxCoalescedChars } from '../../src/core/output-coalescing.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/**
 * A log whose every append after a commit counts as a burst's (idle only after a minute) and whose burst window
 * closes only when something closes it (a minute): what a burst does in a millisecond, without timing in the test.
 */
async function setup() {
  const store = new SqliteStore(path.join(tempDir('burst-window-'), 'gw.db'))
  stores.push(store)
  await store.createRun(newRun('run_a'))
  const bus = new InProcessEventBus()
  const published: StoredEvent[] = []
  bus.subscribe('run_a', (ev) => published.push(ev))
  const log = new EventLog(store, bus)
  log.idleAfterMs = 60_000
  log.burstWindowMs = 60_000
  return { store, published, log }
}

const out = (data: string, stream: 'stdout' | 'stderr' = 'stdout'): AgentEvent => ({
  type: 'output',
  stream,
  data,
})
const shape = (ev: StoredEvent) =>
  ev.type === 'output' ? `${ev.stream}:${ev.data.length > 20 ? `${ev.data.length} chars` : ev.data}` : ev.type
/** A burst's first read: more than the 8 KB of output after which the next output waits for more. */
const firstRead = 'a'.repeat(10_000)

describe('EventLog: the burst window', () => {
  it('output read in later loop turns of a burst is stored, published and resolved as one event, in order', async () => {
    const { store, published, log } = await setup()
    const first = await log.append('run_a', out(firstRead))
    await loopTurn() // (the flush that stored it has ended)
    const appends = [log.append('run_a', out('b'))]
    await loopTurn()
    appends.push(log.append('run_a', out('c')))
    await loopTurn()
    appends.push(log.append('run_a', out('d', 'stderr')))
    await loopTurn()
    appends.push(log.append('run_a', out('e')))
    // any other event closes the window: it and the output before it are committed at the next loop turn
    appends.push(log.append('run_a', { type: 'agent.session', agent: 'cli', agentSessionId: 's' }))
    const stored = await Promise.all(appends)
    const read = await store.eventsAfter('run_a', 0, 100)
    expect(read.map(shape)).toEqual([
      'stdout:10000 chars',
      'stdout:bc',
      'stderr:d',
      'stdout:e',
      'agent.session',
    ])
    expect(read.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
    expect(published.map(shape)).toEqual(read.map(shape))
    expect(published.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
    expect([first, ...stored].map((e) => e.seq)).toEqual([1, 2, 2, 3, 4, 5])
    const text = read.map((e) => (e.type === 'output' && e.stream === 'stdout' ? e.data : '')).join('')
    expect(text).toBe(`${firstRead}bce`)
  })

  it('closes once a full event of output is queued: the burst arrives whole, no event over the bound', async () => {
    const { store, log } = await setup()
    await log.append('run_a', out(firstRead))
    await loopTurn()
    const reads = ['x', 'y', 'z', 'w'].map((c) => c.repeat(40_000))
    const appends: Promise<StoredEvent>[] = []
    for (const read of reads.slice(0, 3)) {
      appends.push(log.append('run_a', out(read)))
      await loopTurn()
    }
    // (a window left open would keep these waiting a minute: the test would time out)
    await Promise.all(appends)
    // the next read opens a window of its own; the run's end commits it (run-execution: commitNow)
    appends.push(log.append('run_a', out(reads[3]!)))
    log.commitNow()
    await Promise.all(appends)
    const read = await store.eventsAfter('run_a', 0, 100)
    const lengths = read.map((e) => (e.type === 'output' ? e.data.length : 0))
    expect(lengths.every((n) => n <= maxCoalescedChars)).toBe(true)
    expect(lengths).toEqual([10_000, 80_000, 40_000, 40_000])
    expect(read.map((e) => (e.type === 'output' ? e.data : '')).join('')).toBe(firstRead + reads.join(''))
  })

  it('commitNow and drain close the window: nothing waits for it at a run end or a stop', async () => {
    const { store, log } = await setup()
    await log.append('run_a', out(firstRead))
    await loopTurn()
    const last = log.append('run_a', out('last words'))
    await loopTurn()
    log.commitNow()
    expect(await last).toMatchObject({ seq: 2, data: 'last words' })
    const more = log.append('run_a', out('more'))
    await log.drain()
    expect(await more).toMatchObject({ seq: 3, data: 'more' })
    expect((await store.eventsAfter('run_a', 0, 10)).map(shape)).toEqual([
      'stdout:10000 chars',
      'stdout:last words',
      'stdout:more',
    ])
  })

  it('output after a commit of little output (no burst) does not wait: each loop turn is its own commit', async () => {
    const { store, log } = await setup()
    await log.append('run_a', out('small'))
    await loopTurn()
    await log.append('run_a', out('next'))
    await loopTurn()
    await log.append('run_a', out('and next'))
    expect((await store.eventsAfter('run_a', 0, 10)).map(shape)).toEqual([
      'stdout:small',
      'stdout:next',
      'stdout:and next',
    ])
  })
})
