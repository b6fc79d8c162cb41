import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { inlineWalBytes, WalCheckpointer } from '../../src/store/sqlite/wal-checkpointer.js'
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

describe('WalCheckpointer', () => {
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
