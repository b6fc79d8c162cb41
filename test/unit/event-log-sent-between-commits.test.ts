import path from 'node:path'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/**
 * A follower as an SSE stream is one: it takes the log's subscription (replay, then live events) and writes each
 * event to a stream corked for the tick, as Node corks a response (its socket write comes in a tick of its own).
 * `steps` gets 'sent <seq>' when that write reaches the stream's sink.
 */
function follow(log: EventLog, steps: string[], signal: AbortSignal) {
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      steps.push(`sent ${chunk.toString()}`)
      done()
    },
  })
  let sentOne: () => void = () => {}
  const first = new Promise<void>((resolve) => {
    sentOne = resolve
  })
  const done = (async () => {
    for await (const ev of log.subscribe(
      'ses_a',
      0,
      () => false,
      async () => false,
      signal,
    )) {
      out.cork()
      out.write(String(ev.seq))
      process.nextTick(() => {
        out.uncork()
        sentOne()
      })
    }
  })()
  return { first, done }
}

describe('EventLog: what a commit stored is sent before the next commit of the flush', () => {
  it('the frames of stored events reach their stream before the write queued behind them is committed (SQLite)', async () => {
    const store = new SqliteStore(path.join(tempDir('sent-between-'), 'gw.db'))
    stores.push(store)
    await store.registerNode(nodeRecord('node_a'))
    await store.createSession(newSession('ses_a', { status: 'running' }), 'node_a')
    const log = new EventLog(store, new InProcessEventBus())
    const steps: string[] = []
    const stop = new AbortController()
    const follower = follow(log, steps, stop.signal)
    // the follower is live (its replay read) once it sent a first event
    await log.append('ses_a', { type: 'session.status', status: 'running' })
    await follower.first
    expect(steps).toEqual(['sent 1'])

    // two events and a store step behind them, queued together: one flush, two commits (the events, then the write)
    const appended = [
      log.append('ses_a', { type: 'output', stream: 'stdout', data: 'a' }),
      log.append('ses_a', { type: 'output', stream: 'stderr', data: 'b' }),
    ]
    const written = log.commitWith('ses_a', async () => {
      steps.push('write committed')
      return { events: [] as StoredEvent[] }
    })
    await Promise.all([...appended, written])
    await new Promise((resolve) => setImmediate(resolve))
    // before: 'write committed' came first, the two frames waited on the socket for it
    expect(steps).toEqual(['sent 1', 'sent 2', 'sent 3', 'write committed'])
    stop.abort()
    await follower.done
  })

  it('a lane with more than one batch still commits in order and publishes each event once', async () => {
    const store = new SqliteStore(path.join(tempDir('sent-between-'), 'gw.db'))
    stores.push(store)
    await store.registerNode(nodeRecord('node_a'))
    await store.createSession(newSession('ses_a', { status: 'running' }), 'node_a')
    const bus = new InProcessEventBus()
    const published: number[] = []
    bus.subscribe('ses_a', (ev) => published.push(ev.seq))
    const log = new EventLog(store, bus)
    // 1,200 events queued at once: three batches of at most 500, one flush
    const all = Array.from({ length: 1200 }, (_, i) =>
      log.append('ses_a', { type: 'item.delta', itemId: 'i', delta: String(i) }),
    )
    const stored = await Promise.all(all)
    expect(stored.map((ev) => ev.seq)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1))
    expect(published).toEqual(stored.map((ev) => ev.seq))
    expect((await store.eventsAfter('ses_a', 0, 2000)).length).toBe(1200)
  })
})
