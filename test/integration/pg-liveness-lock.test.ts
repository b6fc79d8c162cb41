import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeMembership } from '../../src/core/node-membership.js'
import { livenessLockSpace, PgLivenessLock } from '../../src/store/postgres/pg-liveness-lock.js'
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { newRun } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'

const root = path.resolve(import.meta.dirname, '../..')

/** Polls the store (another process's connection state has no event to wait on here). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const remote = (id: string, lockKey?: number) => {
  const at = new Date().toISOString()
  return {
    id,
    role: 'worker',
    host: 'elsewhere',
    pid: 1,
    startedAt: at,
    heartbeatAt: at,
    ...(lockKey ? { lockKey } : {}),
  }
}

/**
 * The liveness lock on a real PostgreSQL: a node's lock is freed the moment its process dies (a checker on another
 * host takes it over without waiting for its heartbeat to age), a lock connection that drops while the node lives
 * is taken again and the node is not taken over, and a node without a lock (a gateway of before) is judged by its
 * heartbeat alone.
 */
describe('liveness locks (PostgreSQL)', () => {
  const server = sharedPostgres()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
  })

  /** A checker node with heartbeats far apart and a heartbeat timeout no test here reaches. */
  async function checker(store: PostgresStore, lockConfirmMs = 200) {
    const me = new NodeMembership(store, 'api', {
      heartbeatMs: 60_000,
      deadAfterMs: 600_000,
      lockConfirmMs,
    })
    await me.join()
    cleanups.push(() => me.leave())
    return me
  }

  it('kill -9 of the process holding a node lock: the checker takes the node over after its confirming look', async () => {
    const store = await server.openStore()
    // a process on "another host" that takes a liveness lock, as a node's PgLivenessLock does
    const key = 424_242
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const c = new (require('pg').Client)(process.argv[1]);
         c.connect().then(() => c.query('SELECT pg_advisory_lock($1, $2)', [${livenessLockSpace}, ${key}]))
           .then(() => console.log('locked'))`,
        store.url,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    cleanups.push(async () => child.kill('SIGKILL'))
    await once(child.stdout!, 'data')
    await store.registerNode(remote('node_crashed', key))
    await store.admitRun(newRun('run_1'), 'node_crashed', 10)
    const me = await checker(store)
    expect((await store.listNodes()).find((n) => n.id === 'node_crashed')).toMatchObject({
      lockKey: key,
      lock: 'held',
    })
    expect(await me.recoverLost(async () => {})).toEqual([])

    child.kill('SIGKILL')
    await once(child, 'exit')
    await until(
      async () => (await store.listNodes()).find((n) => n.id === 'node_crashed')?.lock === 'free',
      'the lock to be freed',
    )
    let asked = 0
    me.onSuspect(() => asked++)
    const seenAt = Date.now()
    expect(await me.recoverLost(async () => {}, seenAt)).toEqual([])
    expect(asked).toBe(1)
    const taken: string[][] = []
    expect(await me.recoverLost(async (lost) => void taken.push(lost), seenAt + 200)).toEqual([
      'node_crashed',
    ])
    expect(taken).toEqual([['node_crashed']])
  })

  it('a node whose lock connection is terminated (pg_terminate_backend) takes its lock again and is not taken over', async () => {
    const store = await server.openStore()
    const victim = new NodeMembership(store, 'worker', { heartbeatMs: 60_000, deadAfterMs: 600_000 })
    const lock = await PgLivenessLock.start(store.url, victim.id, (k, held) =>
      store.setNodeLockKey(victim.id, k, held),
    )
    await victim.join(lock)
    cleanups.push(() => victim.leave())
    await store.admitRun(newRun('run_1'), victim.id, 10)
    const me = await checker(store)
    const record = async () => (await store.listNodes()).find((n) => n.id === victim.id)
    const key = lock.key!
    expect(await record()).toMatchObject({ lockKey: key, lock: 'held' })
    const before = lock.backendPid
    const admin = new pg.Client({ connectionString: store.url })
    await admin.connect()
    cleanups.push(() => admin.end())
    const { rows } = await admin.query(
      'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
      [`agw-liveness ${victim.id}`],
    )
    expect(rows).toEqual([{ ok: true }])
    // the checker looks while the lock is down (free, or its key cleared by the node), then once it is back
    await until(async () => (await record())?.lock !== 'held', 'the lock to be gone')
    const t0 = Date.now()
    expect(await me.recoverLost(async () => {}, t0)).toEqual([])
    await until(
      async () => (await record())?.lock === 'held' && lock.backendPid !== before,
      'the lock taken again',
    )
    expect(await record()).toMatchObject({ lockKey: key, lock: 'held' })
    expect(await me.recoverLost(async () => {}, t0 + 10_000)).toEqual([])
    expect(await store.ownerOf('run_1')).toBe(victim.id)
    expect(await me.isLive(victim.id)).toBe(true)
  })

  it('a request judging an owner (isLiveConfirmed): dead once its lock stays free confirmMs after a kill -9; alive while its lock is held (heartbeat silent or not) or taken again', async () => {
    const store = await server.openStore()
    const key = 434_343
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const c = new (require('pg').Client)(process.argv[1]);
         c.connect().then(() => c.query('SELECT pg_advisory_lock($1, $2)', [${livenessLockSpace}, ${key}]))
           .then(() => console.log('locked'))`,
        store.url,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    cleanups.push(async () => child.kill('SIGKILL'))
    await once(child.stdout!, 'data')
    await store.registerNode(remote('node_crashed', key))
    // a stalled node: its process (here this test's connection) holds its lock; its heartbeat is 5 minutes old
    const stalled = new pg.Client({ connectionString: store.url })
    await stalled.connect()
    cleanups.push(() => stalled.end())
    await stalled.query('SELECT pg_advisory_lock($1, $2)', [livenessLockSpace, 525_252])
    await store.registerNode({
      ...remote('node_stalled', 525_252),
      heartbeatAt: new Date(Date.now() - 300_000).toISOString(),
    })
    // a live node with its own PgLivenessLock, whose lock connection will be terminated
    const victim = new NodeMembership(store, 'worker', { heartbeatMs: 60_000, deadAfterMs: 600_000 })
    const lock = await PgLivenessLock.start(store.url, victim.id, (k, held) =>
      store.setNodeLockKey(victim.id, k, held),
    )
    await victim.join(lock)
    cleanups.push(() => victim.leave())
    // a confirming look a second after the first: time enough for a dropped lock to be cleared or taken again
    const me = await checker(store, 1000)
    expect(await me.isLiveConfirmed('node_crashed')).toBe(true)

    child.kill('SIGKILL')
    await once(child, 'exit')
    await until(
      async () => (await store.listNodes()).find((n) => n.id === 'node_crashed')?.lock === 'free',
      'the lock to be freed',
    )
    const t0 = Date.now()
    expect(await me.isLiveConfirmed('node_crashed')).toBe(false)
    // not at the first look that showed it free: at the one confirmMs later
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000)
    expect(await me.isLiveConfirmed('node_stalled')).toBe(true)

    const admin = new pg.Client({ connectionString: store.url })
    await admin.connect()
    cleanups.push(() => admin.end())
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
      `agw-liveness ${victim.id}`,
    ])
    await until(
      async () => (await store.listNodes()).find((n) => n.id === victim.id)?.lock !== 'held',
      'the lock to be gone',
    )
    expect(await me.isLiveConfirmed(victim.id)).toBe(true)
  })

  it('a node without a lock key (a gateway of before) is judged by its heartbeat alone', async () => {
    const store = await server.openStore()
    await store.registerNode(remote('node_old'))
    await store.admitRun(newRun('run_1'), 'node_old', 10)
    const me = await checker(store)
    expect((await store.listNodes()).find((n) => n.id === 'node_old')).not.toHaveProperty('lock')
    const now = Date.now()
    expect(await me.recoverLost(async () => {}, now)).toEqual([])
    expect(await me.recoverLost(async () => {}, now + 60_000)).toEqual([])
    expect(await me.recoverLost(async () => {}, now + 600_001)).toEqual(['node_old'])
  })
})
