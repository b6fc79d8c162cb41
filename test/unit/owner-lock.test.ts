import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { acquireLock, lockOwner, releaseLock, withLock } from '../support/owner-lock.js'
import { deadOwner, ownerOf, type ProcessOwner } from '../support/process-owner.js'
import { removeDir, tempDir } from '../support/temp.js'

const dir = tempDir('owner-lock-')
afterAll(() => removeDir(dir))
const me = ownerOf(process.pid)
let locks = 0
const freshLock = () => path.join(mkdtempSync(path.join(dir, 'l-')), `${++locks}.lock`)

describe('owner-lock: a lock file between processes, with its owner in it', () => {
  it('is taken, holds its owner, and is gone once released', () => {
    const file = freshLock()
    const seen = withLock(file, me, () => lockOwner(file))
    expect(seen).toEqual(me)
    expect(existsSync(file)).toBe(false)
  })

  it('takes over a lock whose owner is gone (a run killed while it held it)', async () => {
    const file = freshLock()
    const dead = await deadOwner()
    writeFileSync(file, JSON.stringify(dead))
    const waited: ProcessOwner[] = []
    acquireLock(file, me, { onWait: (holder) => waited.push(holder), timeoutMs: 5000 })
    try {
      expect(lockOwner(file)).toEqual(me)
      expect(waited).toEqual([])
    } finally {
      releaseLock(file, me)
    }
  })

  it('takes over a lock whose pid now names another process (a later start time)', () => {
    const file = freshLock()
    writeFileSync(file, JSON.stringify({ pid: process.pid, startTime: '1' }))
    withLock(file, me, () => expect(lockOwner(file)).toEqual(me), { timeoutMs: 5000 })
  })

  it('takes over a lock file that holds no owner (not written by a lock)', () => {
    const file = freshLock()
    writeFileSync(file, 'not json')
    withLock(file, me, () => expect(lockOwner(file)).toEqual(me), { timeoutMs: 5000 })
  })

  it('waits for a live holder, says so once, and gives up at its timeout naming the holder', async () => {
    const file = freshLock()
    const holder = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] })
    const exited = new Promise((resolve) => holder.once('exit', resolve))
    try {
      const live = ownerOf(holder.pid as number)
      writeFileSync(file, JSON.stringify(live))
      const waited: ProcessOwner[] = []
      expect(() =>
        acquireLock(file, me, { onWait: (h) => waited.push(h), timeoutMs: 300, pollMs: 20 }),
      ).toThrow(`held by pid ${live.pid}`)
      expect(waited).toEqual([live])
      // the holder's lock is untouched, and a release by another owner leaves it
      releaseLock(file, me)
      expect(lockOwner(file)).toEqual(live)
    } finally {
      holder.stdin.end()
      await exited
    }
  })

  it('refuses to be taken twice by one process (it is not reentrant)', () => {
    const file = freshLock()
    withLock(file, me, () => {
      expect(() => acquireLock(file, me, { timeoutMs: 100 })).toThrow('already held by this process')
    })
  })
})
