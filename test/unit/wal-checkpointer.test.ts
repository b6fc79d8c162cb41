import { readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { queuedRun } from '../../src/protocol/runs.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { inlineWalBytes, WalCheckpointer } from '../../src/store/sqlite/wal-checkpointer.js'
import {
  gateFree,
  gateRestarting,
  gateWriting,
  WalWriteGate,
  walRestartSource,
} from '../../src/store/sqlite/wal-write-gate.js'
import { newApproval, newSession, newWebhookDelivery, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/**
 * A WAL database that never checkpoints by itself, its WAL limited like the store's, with `rows` rows of 1 KB
 * written to its WAL.
 */
function walDatabase(rows: number): { file: string; db: Database.Database } {
  const file = path.join(tempDir('wal-'), 'gw.db')
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('wal_autocheckpoint = 0')
  db.pragma(`journal_size_limit = ${inlineWalBytes}`)
  db.exec('CREATE TABLE t (v TEXT)')
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run('x'.repeat(1024))
  })()
  cleanups.push(() => {
    db.close()
  })
  return { file, db }
}

/**
 * The WAL header's salt-1: it moves each time a commit starts the WAL over (and syncs the header). Not the checkpoint
 * sequence (bytes 12-15): that is each connection's own count, so a restart by another connection may repeat it.
 */
const walSequence = (file: string) => readFileSync(`${file}-wal`).readUInt32BE(16)

/** The worker's side of the gate, evaluated here on a connection of the test's. */
const restartSide = new Function('require', `${walRestartSource}\nreturn { restartAfter, writesSoFar }`)(
  createRequire(import.meta.url),
) as {
  restartAfter(
    db: Database.Database,
    cells: Int32Array,
    writesBefore: number,
    walFile: string,
  ): number | null | undefined
  writesSoFar(cells: Int32Array): number
}

describe('WalCheckpointer', () => {
  it("with the store's gate, the worker starts a fully copied WAL over: the store's next commit appends, no header sync on its thread", async () => {
    const { file, db } = walDatabase(400)
    const gate = new WalWriteGate()
    const checkpointer = new WalCheckpointer(file, () => {}, 60_000, { gate, walLimitBytes: inlineWalBytes })
    cleanups.push(() => checkpointer.close())
    const before = walSequence(file)
    await checkpointer.checkpoint()
    // started over by the worker's own commit (and cut back to the bound, which its connection applies)
    expect(walSequence(file)).not.toBe(before)
    // that commit is not a write of the store's for the next check to checkpoint (an idle store stays idle)
    expect((checkpointer as unknown as { lastWrite: number }).lastWrite).toBe(statSync(`${file}-wal`).mtimeMs)
    expect(statSync(`${file}-wal`).size).toBeLessThanOrEqual(inlineWalBytes)
    const restarted = walSequence(file)
    gate.around(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('after'))
    // the store's commit appended to the WAL the worker began: it did not start it over (nor sync its header)
    expect(walSequence(file)).toBe(restarted)
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(401)
    // nothing of the data changed (the worker's commit writes user_version back as it was)
    expect(db.pragma('user_version', { simple: true })).toBe(0)
  })

  it('the worker leaves the WAL as it is while a store write holds the gate, or when one began since its checkpoint', () => {
    const { file, db } = walDatabase(50)
    db.pragma('wal_checkpoint(PASSIVE)')
    const worker = new Database(file)
    cleanups.push(() => {
      worker.close()
    })
    const gate = new WalWriteGate()
    const cells = new Int32Array(gate.buffer)
    const wal = `${file}-wal`
    const before = walSequence(file)
    // a write of the store's under way
    Atomics.store(cells, 0, gateWriting)
    expect(restartSide.restartAfter(worker, cells, restartSide.writesSoFar(cells), wal)).toBeUndefined()
    Atomics.store(cells, 0, 0)
    // a write began after the checkpoint's count was taken: what it wrote may not be copied back
    const counted = restartSide.writesSoFar(cells)
    gate.around(() => undefined)
    expect(restartSide.restartAfter(worker, cells, counted, wal)).toBeUndefined()
    expect(walSequence(file)).toBe(before)
    // none: started over, the gate free again
    expect(restartSide.restartAfter(worker, cells, restartSide.writesSoFar(cells), wal)).toBe(
      statSync(wal).mtimeMs,
    )
    expect(walSequence(file)).not.toBe(before)
    expect(Atomics.load(cells, 0)).not.toBe(gateRestarting)
  })

  it("store writes never meet the worker's restart in SQLite's lock: a busy_timeout of 0 never fails them", async () => {
    const { file, db } = walDatabase(50)
    // any wait for the worker's write lock would fail at once instead of sleeping in SQLite's busy handler
    db.pragma('busy_timeout = 0')
    const gate = new WalWriteGate()
    const checkpointer = new WalCheckpointer(file, () => {}, 60_000, { gate, walLimitBytes: inlineWalBytes })
    cleanups.push(() => checkpointer.close())
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    let writes = 0
    let restartedByWorker = 0
    for (let round = 0; round < 40; round++) {
      const before = walSequence(file)
      let done = false
      const checkpoint = checkpointer.checkpoint().then(() => {
        done = true
      })
      // none, or up to three writes while the worker checkpoints and (it may) starts the WAL over
      for (let n = 0; n < round % 4 && !done; n++) {
        gate.around(() => insert.run(`row ${writes++}`))
        await new Promise((resolve) => setImmediate(resolve))
      }
      await checkpoint
      if (round % 4 === 0 && walSequence(file) !== before) restartedByWorker++
      gate.around(() => insert.run(`row ${writes++}`))
    }
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(50 + writes)
    // the worker started the WAL over in the rounds where no write began during its checkpoint
    expect(restartedByWorker).toBe(10)
  })

  it('a worker that fails or is closed while it may hold the gate leaves it free: later writes do not wait', async () => {
    const { file } = walDatabase(400)
    for (const end of ['fail', 'close'] as const) {
      const gate = new WalWriteGate()
      const cells = new Int32Array(gate.buffer)
      const checkpointer = new WalCheckpointer(file, () => {}, 60_000, {
        gate,
        walLimitBytes: inlineWalBytes,
      })
      cleanups.push(() => checkpointer.close())
      await checkpointer.checkpoint()
      // as if its worker were ended in the middle of starting the WAL over
      Atomics.store(cells, 0, gateRestarting)
      if (end === 'fail') (checkpointer as unknown as { fail(): void }).fail()
      else await checkpointer.close()
      await expect.poll(() => Atomics.load(cells, 0), { timeout: 5000 }).toBe(gateFree)
    }
  })

  it("the store's connection keeps synchronous = NORMAL and wires its gate to its checkpointer", async () => {
    const file = path.join(tempDir('wal-'), 'gw.db')
    const store = new SqliteStore(file)
    cleanups.push(() => store.close())
    const inner = store as unknown as {
      db: Database.Database
      checkpoints: WalCheckpointer
      gate: WalWriteGate
    }
    expect(inner.db.pragma('synchronous', { simple: true })).toBe(1)
    inner.db.exec('CREATE TABLE t (v TEXT)')
    const writes = inner.gate.writes
    await store.createRun(
      queuedRun('run_1', 'codex-exec', { prompt: 'p', cwd: '/w' }, new Date().toISOString()),
    )
    expect(inner.gate.writes).toBe(writes + 1)
    inner.db.transaction(() => {
      for (let i = 0; i < 300; i++) inner.db.prepare('INSERT INTO t (v) VALUES (?)').run('x'.repeat(1024))
    })()
    const before = walSequence(file)
    await inner.checkpoints.checkpoint()
    expect(walSequence(file)).not.toBe(before)
  })

  it('every store write outside its transactions holds the gate too (nodes, approvals, webhooks, takeovers, retention)', async () => {
    const store = new SqliteStore(path.join(tempDir('wal-'), 'gw.db'))
    cleanups.push(() => store.close())
    const gate = (store as unknown as { gate: WalWriteGate }).gate
    const at = '2026-01-01T00:00:00.000Z'
    await store.registerNode(nodeRecord('node_a'))
    await store.createSession(newSession('ses_1'), 'node_a')
    const writes: [string, () => Promise<unknown>][] = [
      ['registerNode', () => store.registerNode(nodeRecord('node_b'))],
      ['heartbeat', () => store.heartbeat('node_b', at)],
      ['markNodesLost', () => store.markNodesLost(['node_b'], at)],
      ['createRun', () => store.createRun(queuedRun('run_1', 'codex-exec', { prompt: 'p', cwd: '/w' }, at))],
      ['updateRun', () => store.updateRun('run_1', { status: 'running' })],
      ['takeOverRuns', () => store.takeOverRuns(['node_b'], 'node_a')],
      ['createApproval', () => store.createApproval(newApproval('apr_1', 'ses_1'))],
      ['updateApproval', () => store.updateApproval('apr_1', { reason: 'r' })],
      [
        'resolveApproval',
        () => store.resolveApproval('apr_1', { decision: 'accept', by: 'u', resolvedAt: at }),
      ],
      ['enqueueWebhook', () => store.enqueueWebhook(newWebhookDelivery('msg_1', at))],
      ['updateWebhook', () => store.updateWebhook('msg_1', { attempts: 1 })],
      ['deleteFinishedBefore', () => store.deleteFinishedBefore(at)],
      ['removeNode', () => store.removeNode('node_b')],
    ]
    const ungated: string[] = []
    for (const [name, write] of writes) {
      const before = gate.writes
      await write()
      if (gate.writes === before) ungated.push(name)
    }
    expect(ungated).toEqual([])
  })

  it('copies the WAL into the database file from its worker thread, not the caller', async () => {
    const { file, db } = walDatabase(500)
    const before = statSync(file).size
    let fallbacks = 0
    const checkpointer = new WalCheckpointer(file, () => fallbacks++, 60_000)
    cleanups.push(() => checkpointer.close())
    await checkpointer.checkpoint()
    expect(fallbacks).toBe(0)
    // the 500 rows are in the database file now
    expect(statSync(file).size).toBeGreaterThan(before + 500 * 1024)
    // and nothing is left to copy: a checkpoint here finds every frame already backfilled
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[]
    expect(r!.checkpointed).toBe(r!.log)
    // the writer goes on while the worker holds its connection
    db.prepare('INSERT INTO t (v) VALUES (?)').run('after')
    expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(501)
  })

  it('checks the WAL on its timer and checkpoints a large write in its worker', async () => {
    const { file } = walDatabase(400)
    const before = statSync(file).size
    let fallbacks = 0
    const checkpointer = new WalCheckpointer(file, () => fallbacks++, 50)
    cleanups.push(() => checkpointer.close())
    await expect
      .poll(() => statSync(file).size, { timeout: 10_000, interval: 50 })
      .toBeGreaterThan(before + 400 * 1024)
    expect(fallbacks).toBe(0)
  })

  it('checkpoints a WAL of a few small writes on the calling thread, starting no worker', async () => {
    const { file, db } = walDatabase(3)
    let inline = 0
    const checkpointer = new WalCheckpointer(
      file,
      () => {
        inline++
        db.pragma('wal_checkpoint(PASSIVE)')
      },
      50,
    )
    cleanups.push(() => checkpointer.close())
    await expect.poll(() => inline, { timeout: 10_000, interval: 50 }).toBeGreaterThan(0)
    expect((checkpointer as unknown as { worker?: unknown }).worker).toBeUndefined()
  })

  it('checkpoints a WAL grown by many small commits (a busy session store) in its worker', async () => {
    const { file, db } = walDatabase(1)
    // each commit of a small document update adds at least a whole page to the WAL
    const update = db.prepare('UPDATE t SET v = ?')
    for (let i = 0; i < 100; i++) update.run(`small update ${i}`)
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(inlineWalBytes)
    let fallbacks = 0
    const checkpointer = new WalCheckpointer(file, () => fallbacks++, 60_000)
    cleanups.push(() => checkpointer.close())
    await checkpointer.check()
    expect(fallbacks).toBe(0)
    // the worker copied the last update into the database file
    expect(readFileSync(file).includes('small update 99')).toBe(true)
  })

  it('a WAL that starts over after a checkpoint is cut back to the limit: a few small writes go inline again', async () => {
    const { file, db } = walDatabase(400)
    db.pragma('wal_checkpoint(PASSIVE)')
    db.prepare('UPDATE t SET v = ? WHERE rowid = 1').run('one small update')
    expect(statSync(`${file}-wal`).size).toBeLessThanOrEqual(inlineWalBytes)
    let inline = 0
    const checkpointer = new WalCheckpointer(file, () => inline++, 60_000)
    cleanups.push(() => checkpointer.close())
    await checkpointer.check()
    expect(inline).toBe(1)
    expect((checkpointer as unknown as { worker?: unknown }).worker).toBeUndefined()
  })

  it('falls back to the calling thread when its worker cannot open the file', async () => {
    const file = path.join(tempDir('wal-'), 'missing.db')
    let fallbacks = 0
    const checkpointer = new WalCheckpointer(file, () => fallbacks++, 60_000)
    cleanups.push(() => checkpointer.close())
    await checkpointer.checkpoint()
    expect(fallbacks).toBe(1)
    await checkpointer.checkpoint()
    expect(fallbacks).toBe(2)
  })

  it('close() ends the worker and leaves the file to the store', async () => {
    const { file, db } = walDatabase(10)
    const checkpointer = new WalCheckpointer(file, () => {}, 60_000)
    await checkpointer.checkpoint()
    await checkpointer.close()
    db.pragma('wal_checkpoint(TRUNCATE)')
    expect(statSync(`${file}-wal`).size).toBe(0)
  })

  it('a check in flight when it is closed does not checkpoint on a connection closed meanwhile', async () => {
    const { file, db } = walDatabase(10)
    let fallbacks = 0
    const checkpointer = new WalCheckpointer(
      file,
      () => {
        fallbacks++
        db.pragma('wal_checkpoint(PASSIVE)')
      },
      60_000,
    )
    // the timer's check, started just before the store closes (it awaits the WAL's stat first)
    const tick = checkpointer.check()
    await checkpointer.close()
    db.close()
    await expect(tick).resolves.toBeUndefined()
    expect(fallbacks).toBe(0)
  })

  it('a checkpoint on the calling thread that throws (the WAL busy) does not reject: the next check retries', async () => {
    const { file } = walDatabase(10)
    let calls = 0
    const checkpointer = new WalCheckpointer(
      file,
      () => {
        calls++
        throw new Error('database is locked')
      },
      60_000,
    )
    cleanups.push(() => checkpointer.close())
    await expect(checkpointer.check()).resolves.toBeUndefined()
    await expect(checkpointer.check()).resolves.toBeUndefined()
    expect(calls).toBe(2)
  })
})
