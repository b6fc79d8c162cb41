import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../src/protocol/events.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { inlineWalBytes, type WalCheckpointer } from '../../src/store/sqlite/wal-checkpointer.js'
import { restartWalHere } from '../../src/store/sqlite/wal-restart-here.js'
import { gateFree, gateRestarting, WalWriteGate } from '../../src/store/sqlite/wal-write-gate.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** The WAL header's salt-1: it moves each time a commit starts the WAL over (and syncs the header). */
const walSequence = (file: string) => readFileSync(`${file}-wal`).readUInt32BE(16)

const status: AgentEvent = { type: 'session.status', status: 'idle' }

/** A store with one session whose WAL holds a few small commits only (the inline checkpoint's case). */
async function smallWalStore() {
  const file = path.join(tempDir('wal-inline-'), 'gw.db')
  const store = new SqliteStore(file)
  cleanups.push(() => store.close())
  await store.registerNode(nodeRecord('node_a'))
  await store.createSession(newSession('ses_1'), 'node_a')
  // the schema's pages copied back and the WAL cut to nothing: what follows is a warm session's small writes
  const other = new Database(file)
  other.pragma('wal_checkpoint(TRUNCATE)')
  other.close()
  await store.appendEvent('ses_1', status, new Date().toISOString())
  expect(statSync(`${file}-wal`).size).toBeLessThanOrEqual(inlineWalBytes)
  const checkpoints = (store as unknown as { checkpoints: WalCheckpointer }).checkpoints
  return { file, store, checkpoints }
}

describe('the inline checkpoint of a small WAL', () => {
  it("starts the WAL over on its own tick: the store's next write (a turn's or an event's commit) only appends", async () => {
    const { file, store, checkpoints } = await smallWalStore()
    const before = walSequence(file)
    await checkpoints.check()
    // on this thread, with no worker started
    expect((checkpoints as unknown as { worker?: unknown }).worker).toBeUndefined()
    // started over by the checkpoint's own no-op commit (its header synced then), before any write of the store's
    const restarted = walSequence(file)
    expect(restarted).not.toBe(before)
    await store.appendEvent('ses_1', status, new Date().toISOString())
    // the write appended to that WAL: it did not start it over, nor sync a header inside its transaction
    expect(walSequence(file)).toBe(restarted)
    // nothing lost, nothing changed (the no-op commit writes user_version back as it was)
    const events = await store.eventsAfter('ses_1', 0, 100)
    expect(events.map((e) => e.type)).toEqual(['session.status', 'session.status'])
    const reader = new Database(file, { readonly: true })
    expect(reader.pragma('user_version', { simple: true })).toBeGreaterThan(0)
    reader.close()
  })

  it('an idle store is not checkpointed again for that commit', async () => {
    const { file, checkpoints } = await smallWalStore()
    await checkpoints.check()
    const mtime = statSync(`${file}-wal`).mtimeMs
    const sequence = walSequence(file)
    // the restart's commit is no write of the store's: the next check finds nothing to do
    await checkpoints.check()
    expect(statSync(`${file}-wal`).mtimeMs).toBe(mtime)
    expect(walSequence(file)).toBe(sequence)
  })

  it("never waits for another connection's write lock: the WAL is then left for the store's next write", () => {
    const file = path.join(tempDir('wal-inline-'), 'gw.db')
    const db = new Database(file)
    cleanups.push(() => {
      db.close()
    })
    db.pragma('journal_mode = WAL')
    db.pragma('wal_autocheckpoint = 0')
    // a wait for the other connection's lock would outlast the test's timeout
    db.pragma('busy_timeout = 600000')
    db.exec('CREATE TABLE t (v TEXT)')
    db.prepare('INSERT INTO t (v) VALUES (?)').run('one')
    db.pragma('wal_checkpoint(PASSIVE)')
    const other = new Database(file)
    cleanups.push(() => {
      if (other.inTransaction) other.exec('ROLLBACK')
      other.close()
    })
    other.exec('BEGIN IMMEDIATE')
    const gate = new WalWriteGate()
    // refused at once (busy_timeout 0 for its commit), the connection's own timeout given back
    expect(restartWalHere(db, gate, `${file}-wal`)).toBeUndefined()
    expect(db.pragma('busy_timeout', { simple: true })).toBe(600000)
    expect(db.inTransaction).toBe(false)
    other.exec('ROLLBACK')
    // the gate was left free for the store's writes
    expect(gate.around(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('two').changes)).toBe(1)
  })

  it('does not wait for the gate a worker holds (its restart, or a worker that failed mid-restart)', async () => {
    const { file, store } = await smallWalStore()
    const inner = store as unknown as { db: Database.Database; gate: WalWriteGate }
    inner.db.pragma('wal_checkpoint(PASSIVE)')
    const cells = new Int32Array(inner.gate.buffer)
    const before = walSequence(file)
    Atomics.store(cells, 0, gateRestarting)
    // left to the store's next write (which waits on the gate as every write does), not done after a wait here
    expect(restartWalHere(inner.db, inner.gate, `${file}-wal`)).toBeUndefined()
    expect(walSequence(file)).toBe(before)
    Atomics.store(cells, 0, gateFree)
    expect(restartWalHere(inner.db, inner.gate, `${file}-wal`)).toBeTypeOf('number')
    expect(walSequence(file)).not.toBe(before)
  })
})
