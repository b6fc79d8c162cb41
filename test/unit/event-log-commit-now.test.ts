import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

describe('EventLog.commitNow', () => {
  it('stores and publishes what is queued before the event loop comes round, in one commit, in order', async () => {
    const store = new SqliteStore(path.join(tempDir('commit-now-'), 'gw.db'))
    stores.push(store)
    await store.createRun(newRun('run_a'))
    const bus = new InProcessEventBus()
    const published: StoredEvent[] = []
    bus.subscribe('run_a', (ev) => published.push(ev))
    const log = new EventLog(store, bus)
    let loopCameRound = false
    setImmediate(() => {
      loopCameRound = true
    })
    const first = log.append('run_a', { type: 'run.queued' })
    const second = log.append('run_a', { type: 'agent.session', agent: 'cli', agentSessionId: 's' })
    log.commitNow()
    const stored = await Promise.all([first, second])
    expect(loopCameRound).toBe(false)
    expect(stored.map((ev) => [ev.seq, ev.type])).toEqual([
      [1, 'run.queued'],
      [2, 'agent.session'],
    ])
    expect(published.map((ev) => ev.seq)).toEqual([1, 2])
    expect((await store.eventsAfter('run_a', 0, 10)).map((ev) => ev.type)).toEqual([
      'run.queued',
      'agent.session',
    ])
    // The commit already scheduled for the loop's next round finds nothing left; later appends still batch.
    await new Promise((resolve) => setImmediate(resolve))
    expect((await log.append('run_a', { type: 'run.queued' })).seq).toBe(3)
    expect(published.map((ev) => ev.seq)).toEqual([1, 2, 3])
  })
})
