import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { coalesceOutput, maxCoalescedChars } from '../../src/core/output-coalescing.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

async function setup() {
  const store = new SqliteStore(path.join(tempDir('coalesce-'), 'gw.db'))
  stores.push(store)
  await store.createRun(newRun('run_a'))
  await store.createRun(newRun('run_b'))
  const bus = new InProcessEventBus()
  const published: StoredEvent[] = []
  bus.subscribe('run_a', (ev) => published.push(ev))
  return { store, published, log: new EventLog(store, bus) }
}

const out = (data: string, stream: 'stdout' | 'stderr' = 'stdout'): AgentEvent => ({
  type: 'output',
  stream,
  data,
})
const shape = (ev: StoredEvent) => (ev.type === 'output' ? `${ev.stream}:${ev.data}` : ev.type)

describe('EventLog: output chunks queued for one commit', () => {
  it("consecutive chunks of an owner's stream are stored, published and resolved as one event; order and boundaries kept", async () => {
    const { store, published, log } = await setup()
    const appends = [
      log.append('run_a', out('a')),
      log.append('run_a', out('b')),
      log.append('run_a', out('c', 'stderr')),
      log.append('run_a', out('d')),
      log.append('run_b', out('other run')),
      log.append('run_a', out('e')),
      log.append('run_a', { type: 'agent.session', agent: 'cli', agentSessionId: 's' }),
      log.append('run_a', out('f')),
      log.append('run_a', out('g')),
    ]
    const stored = await Promise.all(appends)
    const read = await store.eventsAfter('run_a', 0, 100)
    expect(read.map(shape)).toEqual(['stdout:ab', 'stderr:c', 'stdout:de', 'agent.session', 'stdout:fg'])
    expect(read.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
    expect(published.map(shape)).toEqual(read.map(shape))
    // every append resolves with the event that holds its chunk
    expect(stored.map((e) => e.seq)).toEqual([1, 1, 2, 3, 1, 3, 4, 5, 5])
    expect(await store.eventsAfter('run_b', 0, 10)).toMatchObject([{ data: 'other run', seq: 1 }])
  })

  it('chunks appended in different turns of the event loop stay separate events (no waiting for more)', async () => {
    const { store, log } = await setup()
    await log.append('run_a', out('first'))
    await log.append('run_a', out('second'))
    expect((await store.eventsAfter('run_a', 0, 10)).map(shape)).toEqual(['stdout:first', 'stdout:second'])
  })

  it('a store error fails every append of the coalesced event', async () => {
    const { log } = await setup()
    const results = await Promise.allSettled([
      log.append('run_gone', out('x')),
      log.append('run_gone', out('y')),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
  })

  it('stops merging at maxCoalescedChars', () => {
    const big = 'x'.repeat(maxCoalescedChars / 2)
    const batch = [big, big, 'z', 'w'].map((data) => ({ ownerId: 'run_a', event: out(data) }))
    const merged = coalesceOutput(batch, (first, data) => ({
      ...first,
      event: { ...first.event, data } as AgentEvent,
    }))
    expect(merged.map((q) => (q.event as { data: string }).data.length)).toEqual([maxCoalescedChars, 2])
  })
})
