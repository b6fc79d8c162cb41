import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LockWatch } from '../../src/core/lock-watch.js'
import { NodeMembership } from '../../src/core/node-membership.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { NodeRecord } from '../../src/store/store.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const node = (
  id: string,
  lock: NodeRecord['lock'],
  heartbeatAt = '2026-01-01T00:00:00.000Z',
): NodeRecord => ({
  id,
  role: 'worker',
  host: 'elsewhere',
  pid: 1,
  startedAt: '2026-01-01T00:00:00.000Z',
  heartbeatAt,
  ...(lock ? { lockKey: 7, lock } : {}),
})

describe('LockWatch: a node is dead by its liveness lock', () => {
  it('when its lock is free at two listings confirmMs apart, not at the first', () => {
    const watch = new LockWatch(1000)
    const gone = node('node_gone', 'free')
    expect(watch.observe([gone], 0)).toEqual(['node_gone'])
    expect(watch.isDead(gone, 0)).toBe(false)
    expect(watch.observe([gone], 999)).toEqual([])
    expect(watch.isDead(gone, 999)).toBe(false)
    expect(watch.observe([gone], 1000)).toEqual([])
    expect(watch.isDead(gone, 1000)).toBe(true)
  })

  it('not when its lock was held again in between (a dropped lock connection taken again): it starts over', () => {
    const watch = new LockWatch(1000)
    watch.observe([node('node_a', 'free')], 0)
    watch.observe([node('node_a', 'held')], 500)
    expect(watch.isDead(node('node_a', 'held'), 500)).toBe(false)
    expect(watch.observe([node('node_a', 'free')], 1500)).toEqual(['node_a'])
    expect(watch.isDead(node('node_a', 'free'), 1500)).toBe(false)
    watch.observe([node('node_a', 'free')], 2500)
    expect(watch.isDead(node('node_a', 'free'), 2500)).toBe(true)
  })

  it('not when it cleared its key meanwhile (lock connection down, process alive): judged by heartbeat then', () => {
    const watch = new LockWatch(1000)
    watch.observe([node('node_a', 'free')], 0)
    const cleared = node('node_a', undefined)
    watch.observe([cleared], 5000)
    expect(watch.isDead(cleared, 5000)).toBe(false)
  })

  it('not when it beat between the two listings: the wait starts again from that heartbeat', () => {
    const watch = new LockWatch(1000)
    watch.observe([node('node_a', 'free', '2026-01-01T00:00:00.000Z')], 0)
    const beat = node('node_a', 'free', '2026-01-01T00:00:02.000Z')
    expect(watch.observe([beat], 1000)).toEqual(['node_a'])
    expect(watch.isDead(beat, 1000)).toBe(false)
    watch.observe([beat], 2000)
    expect(watch.isDead(beat, 2000)).toBe(true)
  })

  it('never for a node without a key (a gateway of before, or SQLite), however long', () => {
    const watch = new LockWatch(1000)
    const old = node('node_old', undefined)
    watch.observe([old], 0)
    watch.observe([old], 60_000)
    expect(watch.isDead(old, 60_000)).toBe(false)
  })

  it('forgets a node no longer listed (its record removed: a new record starts over)', () => {
    const watch = new LockWatch(1000)
    watch.observe([node('node_a', 'free')], 0)
    watch.observe([], 500)
    expect(watch.observe([node('node_a', 'free')], 1000)).toEqual(['node_a'])
    expect(watch.isDead(node('node_a', 'free'), 1000)).toBe(false)
  })
})

describe('NodeMembership with liveness locks', () => {
  const stores: SqliteStore[] = []
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close()
  })

  /** A store whose listing shows the locks `locks` says (as PostgreSQL's pg_locks would). */
  function storeWithLocks(locks: Map<string, NodeRecord['lock']>) {
    const store = new SqliteStore(path.join(tempDir('lock-watch-'), 'gw.db'))
    stores.push(store)
    const list = store.listNodes.bind(store)
    store.listNodes = async () =>
      (await list()).map((n) => {
        const lock = locks.get(n.id)
        return lock ? { ...n, lockKey: 7, lock } : n
      })
    return store
  }

  it('takes over a node on another host whose lock stays free, long before its heartbeat ages; asks to look again', async () => {
    const locks = new Map<string, NodeRecord['lock']>([['node_crashed', 'free']])
    const store = storeWithLocks(locks)
    const now = Date.now()
    const fresh = new Date(now).toISOString()
    for (const id of ['node_crashed', 'node_old', 'node_blip'])
      await store.registerNode({
        id,
        role: 'worker',
        host: 'elsewhere',
        pid: 1,
        startedAt: fresh,
        heartbeatAt: fresh,
      })
    for (const id of ['node_crashed', 'node_old', 'node_blip'])
      await store.admitRun(newRun(`run_${id}`), id, 100)
    const me = new NodeMembership(store, 'api', {
      heartbeatMs: 60_000,
      deadAfterMs: 300_000,
      lockConfirmMs: 1000,
    })
    await me.join()
    const lookAgain: number[] = []
    me.onSuspect((ms) => lookAgain.push(ms))
    const takenOver: string[][] = []
    const takeOver = async (lost: string[]) => void takenOver.push(lost)

    expect(await me.recoverLost(takeOver, now)).toEqual([])
    expect(lookAgain).toEqual([1000])
    // the blip: its lock free at one look, held again at the next
    locks.set('node_blip', 'free')
    expect(await me.recoverLost(takeOver, now + 500)).toEqual([])
    locks.set('node_blip', 'held')
    expect(await me.isLive('node_crashed', now + 500)).toBe(true)
    expect(await me.recoverLost(takeOver, now + 1000)).toEqual(['node_crashed'])
    expect(takenOver).toEqual([['node_crashed']])
    expect((await store.listNodes()).map((n) => n.id).sort()).toEqual(['node_blip', 'node_old', me.id].sort())
    // node_old (no key) is judged by its heartbeat alone: taken once that is older than deadAfterMs
    expect(await me.recoverLost(takeOver, now + 300_001)).toContain('node_old')
  })

  it('isLiveConfirmed: a free lock is judged at a look confirmMs later (dead if still free and silent); held, held again or a heartbeat: alive', async () => {
    const locks = new Map<string, NodeRecord['lock']>([
      ['node_crashed', 'free'],
      ['node_blip', 'free'],
      ['node_beat', 'free'],
      ['node_stalled', 'held'],
    ])
    const store = storeWithLocks(locks)
    const old = new Date(Date.now() - 60_000).toISOString()
    for (const id of locks.keys())
      await store.registerNode({
        id,
        role: 'worker',
        host: 'elsewhere',
        pid: 1,
        startedAt: old,
        heartbeatAt: old,
      })
    const me = new NodeMembership(store, 'api', {
      heartbeatMs: 60_000,
      deadAfterMs: 300_000,
      lockConfirmMs: 100,
    })
    await me.join()
    const listed = () => me.liveRunnerIds()
    // a stalled node that holds its lock is alive, at once (its heartbeat is a minute old)
    const t0 = Date.now()
    expect(await me.isLiveConfirmed('node_stalled')).toBe(true)
    // the look that saw the three locks free is done: the blip takes its lock again, node_beat beats
    const judged = Promise.all(['node_crashed', 'node_blip', 'node_beat'].map((id) => me.isLiveConfirmed(id)))
    await listed()
    locks.set('node_blip', 'held')
    await store.heartbeat('node_beat', new Date().toISOString())
    expect(await judged).toEqual([false, true, true])
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100)
    expect(await me.isLiveConfirmed('node_unknown')).toBe(false)
    await me.leave()
  })

  it('callers at the same time share one listing of the nodes; recoverLost always lists them anew', async () => {
    const store = storeWithLocks(new Map())
    let reads = 0
    const list = store.listNodes.bind(store)
    store.listNodes = () => {
      reads++
      return list()
    }
    const me = new NodeMembership(store, 'api', { heartbeatMs: 60_000, deadAfterMs: 300_000 })
    await me.join()
    await Promise.all([me.liveRunnerIds(), me.liveRunners(), me.isLive('node_x'), me.liveRunnerIds()])
    expect(reads).toBe(1)
    await me.recoverLost(async () => {})
    expect(reads).toBe(2)
    await me.leave()
  })
})
