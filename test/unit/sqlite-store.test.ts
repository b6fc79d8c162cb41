import { statSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { queuedRun, type Run } from '../../src/protocol/runs.js'
import { migrations } from '../../src/store/sqlite/migrations/index.js'
import { pageBytes, SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { inlineWalBytes, type WalCheckpointer } from '../../src/store/sqlite/wal-checkpointer.js'
import { describeStoreContract, runSucceeded } from '../contract/store-contract.js'
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

  it("uses SQLite's 2 MiB page cache, not better-sqlite3's 16 MiB (each page the cache grows by is a page fault)", () => {
    const store = open(path.join(tempDir('store-'), 'gw.db'))
    const db = (store as unknown as { db: Database.Database }).db
    expect(db.pragma('cache_size', { simple: true })).toBe(-2048)
  })

  it('makes a new file with 8 KB pages (a 35 KB output event in 4 overflow pages, not 8); an existing file keeps its own', async () => {
    const file = path.join(tempDir('store-'), 'gw.db')
    const store = open(file)
    const db = (store as unknown as { db: Database.Database }).db
    expect(db.pragma('page_size', { simple: true })).toBe(8 * 1024)
    expect(pageBytes).toBe(8 * 1024)
    await store.createRun(newRun('run_1'))
    await store.appendEvent('run_1', { type: 'output', stream: 'stdout', data: 'x'.repeat(35_000) }, 't')
    // each page is a WAL frame (two writes) at commit and a copy at the checkpoint
    const overflow = db
      .prepare("SELECT count(*) AS n FROM dbstat WHERE name = 'events' AND pagetype = 'overflow'")
      .pluck()
      .get()
    expect(overflow).toBe(4)
    await store.close()
    const reread = new Database(file, { readonly: true })
    expect(reread.pragma('page_size', { simple: true })).toBe(8 * 1024)
    reread.close()
    // a store made with SQLite's default 4 KB pages (before this size) opens, migrated, as it was made
    const older = path.join(tempDir('store-'), 'gw.db')
    const made = new Database(older)
    made.pragma('journal_mode = WAL')
    made.exec(migrations[0]!)
    made.pragma('user_version = 1')
    made.close()
    const reopened = open(older)
    const conn = (reopened as unknown as { db: Database.Database }).db
    expect(conn.pragma('page_size', { simple: true })).toBe(4096)
    await reopened.createRun(newRun('run_1'))
    const ev = await reopened.appendEvent(
      'run_1',
      { type: 'output', stream: 'stdout', data: 'x'.repeat(64 * 1024) },
      't',
    )
    expect(await reopened.eventsAfter('run_1', 0, 10)).toEqual([ev])
  })

  it("keeps its WAL file's size after a burst (bounded far above the checkpointer's inline limit), so later checkpoints stay off its thread", async () => {
    const file = path.join(tempDir('store-'), 'gw.db')
    const store = open(file)
    await store.createRun(newRun('run_1'))
    // a burst: the WAL grows well past the inline limit
    for (let i = 0; i < 20; i++)
      await store.appendEvent('run_1', { type: 'output', stream: 'stdout', data: 'x'.repeat(64 * 1024) }, 't')
    const grown = statSync(`${file}-wal`).size
    expect(grown).toBeGreaterThan(inlineWalBytes)
    // checkpointed (as the worker does, on a connection of its own), then one small write starts the WAL over:
    // the file is written from its start again, not cut back and regrown
    const other = new Database(file)
    other.pragma('wal_checkpoint(PASSIVE)')
    other.close()
    await store.updateRun('run_1', { status: 'running' })
    expect(statSync(`${file}-wal`).size).toBe(grown)
  })

  it("a new file's migrations leave no WAL behind: an idle store's checkpoints stay on its thread, with no worker", async () => {
    const file = path.join(tempDir('store-'), 'gw.db')
    const store = open(file)
    // what an idle server writes: a heartbeat-sized update
    await store.createRun(newRun('run_1'))
    expect(statSync(`${file}-wal`).size).toBeLessThanOrEqual(inlineWalBytes)
    const checkpoints = (store as unknown as { checkpoints: WalCheckpointer }).checkpoints
    await checkpoints.check()
    expect((checkpoints as unknown as { worker?: unknown }).worker).toBeUndefined()
    expect(await store.getRun('run_1')).toMatchObject({ id: 'run_1' })
  })

  it('migrating from schema 2 gives what an older server left unfinished to node_legacy', async () => {
    const file = path.join(tempDir('store-'), 'gw.db')
    const db = new Database(file)
    db.exec(migrations[0]!)
    db.exec(migrations[1]!)
    db.pragma('user_version = 2')
    const insert = db.prepare('INSERT INTO runs (id, agent, status, created_at, body) VALUES (?, ?, ?, ?, ?)')
    insert.run(
      'run_live',
      'codex-exec',
      'running',
      't',
      JSON.stringify(newRun('run_live', { status: 'running' })),
    )
    insert.run(
      'run_done',
      'codex-exec',
      'succeeded',
      't',
      JSON.stringify(newRun('run_done', { status: 'succeeded' })),
    )
    db.close()
    const store = open(file)
    expect(await store.ownerOf('run_live')).toBe('node_legacy')
    expect(await store.ownerOf('run_done')).toBeNull()
    expect((await store.takeOverRuns(['node_legacy'], 'node_new')).map((r) => r.id)).toEqual(['run_live'])
  })

  it('migrating from schema 6 moves every event into a rowid table, in order, and appends go on from there', async () => {
    const file = path.join(tempDir('store-'), 'gw.db')
    const db = new Database(file)
    for (const m of migrations.slice(0, 6)) db.exec(m)
    db.pragma('user_version = 6')
    const run = newRun('run_old', { status: 'running' })
    db.prepare(
      'INSERT INTO runs (id, agent, status, created_at, last_seq, body) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(run.id, run.agent, run.status, run.createdAt, 3, JSON.stringify(run))
    const insert = db.prepare('INSERT INTO events (owner_id, seq, type, at, body) VALUES (?, ?, ?, ?, ?)')
    const old = [1, 2, 3].map((seq) => ({
      type: 'output',
      stream: 'stdout',
      data: `${seq}\n`,
      seq,
      at: 't',
      runId: run.id,
    }))
    for (const ev of old) insert.run(run.id, ev.seq, ev.type, ev.at, JSON.stringify(ev))
    expect(db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'events'").pluck().get()).toMatch(
      /WITHOUT ROWID/,
    )
    db.close()

    const store = open(file)
    const appended = await store.appendEvent(run.id, { type: 'output', stream: 'stdout', data: '4\n' }, 't')
    expect(appended.seq).toBe(4)
    expect(
      (await store.eventsAfter(run.id, 0, 10)).map((e) => [e.seq, e.type === 'output' && e.data]),
    ).toEqual([
      [1, '1\n'],
      [2, '2\n'],
      [3, '3\n'],
      [4, '4\n'],
    ])
    await store.close()
    const after = new Database(file, { readonly: true })
    const sql = after.prepare("SELECT sql FROM sqlite_schema WHERE name = 'events'").pluck().get() as string
    expect(sql).not.toMatch(/WITHOUT ROWID/)
    expect(sql).toMatch(/PRIMARY KEY \(owner_id, seq\)/)
    after.close()
  })
})

describeStoreContract('sqlite', {
  async fresh() {
    const file = path.join(tempDir('store-'), 'gw.db')
    return { store: new SqliteStore(file), connect: async () => new SqliteStore(file) }
  },
})

describe('EventLog', () => {
  const terminal = (e: StoredEvent) => e.type === 'run.completed'

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
    await log.append('run_a', runSucceeded)
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
    await log.append('run_a', runSucceeded)
    const seen: number[] = [1]
    for await (const ev of sub) seen.push(ev.seq)
    expect(seen).toEqual(Array.from({ length: 2502 }, (_, i) => i + 1))
  })

  it('a subscriber of a finished run with nothing left ends at once', async () => {
    const store = open()
    await store.createRun(newRun('run_a'))
    const log = new EventLog(store)
    await log.append('run_a', runSucceeded)
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
