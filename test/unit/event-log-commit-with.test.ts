import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

async function setup() {
  const store = new SqliteStore(path.join(tempDir('commit-with-'), 'gw.db'))
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
