import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { queuedRun, type Run } from '../../src/protocol/runs.js'
import { migrations } from '../../src/store/migrations/index.js'
import { SqliteStore } from '../../src/store/sqlite.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

function open(file = path.join(tempDir('store-'), 'gw.db')) {
  const store = new SqliteStore(file)
  stores.push(store)
  return store
}

function newRun(id: string, patch: Partial<Run> = {}): Run {
  return { ...queuedRun(id, 'codex-exec', { prompt: 'p', cwd: '/w' }, new Date().toISOString()), ...patch }
}

describe('SqliteStore', () => {
  it('migrates a new file in WAL mode and records the schema version', async () => {
    const file = path.join(tempDir('store-'), 'gw.db')
    const store = open(file)
    expect(await store.ping()).toBe(true)
    await store.close()
    const db = new Database(file, { readonly: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length)
    db.close()
  })

  it('reopening keeps runs and events, and does not re-run migrations', async () => {
    const file = path.join(tempDir('store-'), 'gw.db')
    const first = open(file)
    await first.createRun(newRun('run_a'))
    await first.appendEvent('run_a', { type: 'run.queued' }, 't1')
    await first.close()
    const second = open(file)
    expect((await second.getRun('run_a'))?.lastSeq).toBe(1)
    expect(await second.eventsAfter('run_a', 0, 10)).toEqual([
      { type: 'run.queued', seq: 1, at: 't1', runId: 'run_a' },
    ])
  })

  it('numbers events 1..n per run and pages them after a cursor', async () => {
    const store = open()
    await store.createRun(newRun('run_a'))
    await store.createRun(newRun('run_b'))
    for (let i = 0; i < 5; i++) await store.appendEvent('run_a', { type: 'turn.started' }, `t${i}`)
    await store.appendEvent('run_b', { type: 'run.queued' }, 't')
    expect((await store.eventsAfter('run_a', 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
    expect((await store.eventsAfter('run_a', 2, 2)).map((e) => e.seq)).toEqual([3, 4])
    expect((await store.eventsAfter('run_b', 0, 100)).map((e) => e.seq)).toEqual([1])
    await expect(store.appendEvent('run_x', { type: 'run.queued' }, 't')).rejects.toThrow(/unknown run/)
  })

  it('updateRun never moves lastSeq backwards (events own it)', async () => {
    const store = open()
    await store.createRun(newRun('run_a'))
    await store.appendEvent('run_a', { type: 'run.queued' }, 't')
    await store.updateRun('run_a', { status: 'running', lastSeq: 0 })
    expect(await store.getRun('run_a')).toMatchObject({ status: 'running', lastSeq: 1 })
  })

  it('lists by status and agent, newest id first, before a cursor; finds unfinished runs', async () => {
    const store = open()
    await store.createRun(newRun('run_1', { status: 'succeeded', finishedAt: '2020-01-01T00:00:00.000Z' }))
    await store.createRun(newRun('run_2', { status: 'running' }))
    await store.createRun(newRun('run_3', { status: 'queued', agent: 'cli' }))
    expect((await store.listRuns({ limit: 10 })).map((r) => r.id)).toEqual(['run_3', 'run_2', 'run_1'])
    expect((await store.listRuns({ limit: 10, status: 'running' })).map((r) => r.id)).toEqual(['run_2'])
    expect((await store.listRuns({ limit: 10, agent: 'cli' })).map((r) => r.id)).toEqual(['run_3'])
    expect((await store.listRuns({ limit: 10, before: 'run_3' })).map((r) => r.id)).toEqual([
      'run_2',
      'run_1',
    ])
    expect((await store.unfinishedRuns()).map((r) => r.id)).toEqual(['run_2', 'run_3'])
  })

  it('retention deletes finished runs before the cutoff with their events, and nothing else', async () => {
    const store = open()
    await store.createRun(newRun('run_old', { status: 'succeeded', finishedAt: '2020-01-01T00:00:00.000Z' }))
    await store.appendEvent('run_old', { type: 'run.queued' }, 't')
    await store.createRun(newRun('run_new', { status: 'succeeded', finishedAt: new Date().toISOString() }))
    await store.createRun(newRun('run_live', { status: 'running' }))
    expect(await store.deleteFinishedBefore('2021-01-01T00:00:00.000Z')).toBe(1)
    expect(await store.getRun('run_old')).toBeUndefined()
    expect(await store.eventsAfter('run_old', 0, 10)).toEqual([])
    expect((await store.listRuns({ limit: 10 })).map((r) => r.id).sort()).toEqual(['run_live', 'run_new'])
  })
})

describe('EventLog', () => {
  const terminal = (e: StoredEvent) => e.type === 'run.completed'
  const completed = {
    type: 'run.completed' as const,
    status: 'succeeded' as const,
    exitCode: 0,
    signal: null,
    reason: 'exited' as const,
    finalResponse: 'x',
    usage: null,
  }

  it('a subscriber that joins mid-run gets stored then live events, no gap, no duplicate', async () => {
    const store = open()
    await store.createRun(newRun('run_a'))
    const log = new EventLog(store)
    await log.append('run_a', { type: 'run.queued' })
    await log.append('run_a', { type: 'turn.started' })
    let finished = false
    const seen: number[] = []
    const reading = (async () => {
      for await (const ev of log.subscribe('run_a', 1, terminal, async () => finished)) seen.push(ev.seq)
    })()
    for (let i = 0; i < 20; i++)
      await log.append('run_a', { type: 'item.delta', itemId: 'i', delta: String(i) })
    await log.append('run_a', completed)
    finished = true
    await reading
    expect(seen).toEqual(Array.from({ length: 22 }, (_, i) => i + 2))
  })

  it('a slow subscriber past the buffer bound catches up from the store: no gap, no duplicate', async () => {
    const store = open()
    await store.createRun(newRun('run_a'))
    const log = new EventLog(store)
    const sub = log.subscribe('run_a', 0, terminal, async () => false)
    await log.append('run_a', { type: 'run.queued' })
    const first = await sub.next()
    expect(first.value?.seq).toBe(1)
    // The subscriber is now live and reads nothing while 2,500 events arrive (more than it may buffer).
    for (let i = 0; i < 2500; i++)
      await log.append('run_a', { type: 'item.delta', itemId: 'i', delta: String(i) })
    await log.append('run_a', completed)
    const seen: number[] = [1]
    for await (const ev of sub) seen.push(ev.seq)
    expect(seen).toEqual(Array.from({ length: 2502 }, (_, i) => i + 1))
  })

  it('a subscriber of a finished run with nothing left ends at once', async () => {
    const store = open()
    await store.createRun(newRun('run_a'))
    const log = new EventLog(store)
    await log.append('run_a', completed)
    const seen: StoredEvent[] = []
    for await (const ev of log.subscribe('run_a', 1, terminal, async () => true)) seen.push(ev)
    expect(seen).toEqual([])
  })

  it('aborting the signal detaches a live subscriber', async () => {
    const store = open()
    await store.createRun(newRun('run_a'))
    const log = new EventLog(store)
    const controller = new AbortController()
    const reading = (async () => {
      const seen: number[] = []
      for await (const ev of log.subscribe('run_a', 0, terminal, async () => false, controller.signal))
        seen.push(ev.seq)
      return seen
    })()
    await log.append('run_a', { type: 'run.queued' })
    await new Promise((r) => setTimeout(r, 20))
    controller.abort()
    expect(await reading).toEqual([1])
  })
})
