import pg from 'pg'
import { describe, expect, it, vi } from 'vitest'
import { ConfigError } from '../../src/config/config-error.js'
import { type Config, loadConfig } from '../../src/config/load.js'
import { openBackend } from '../../src/core/backend.js'
import { EventLog } from '../../src/core/event-log.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { removeDir, tempDir } from '../support/temp.js'

const server = sharedPostgres()

/** The gateway's settings for `env` (no `.env`: an empty directory), and that directory's removal. */
function settings(env: Record<string, string>): { config: Config; remove: () => void } {
  const dir = tempDir('pg-pool-')
  return { config: loadConfig({ DATA_DIR: dir, ...env }, dir), remove: () => removeDir(dir) }
}

/** A plain connection to `url` (the test's own, beside the store's pool): what PostgreSQL sees of the database. */
async function observer(url: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const count = async (where = 'true') => {
    // inside a transaction (the rows it holds) PostgreSQL keeps showing its first look at pg_stat_activity
    await client.query('SELECT pg_stat_clear_snapshot()')
    return Number(
      (
        await client.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND ${where}`,
        )
      ).rows[0]!.n,
    )
  }
  return {
    client,
    /** Connections to the database other than this one. */
    connections: () => count(),
    /** Those waiting for a lock (a row lock, an advisory lock). */
    waitingForLocks: () => count("wait_event_type = 'Lock'"),
    /** Resolves once `check` holds (polled: PostgreSQL announces no lock waits). */
    async until(check: () => Promise<boolean>): Promise<void> {
      const deadline = Date.now() + 20_000
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('condition not reached in time')
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    end: () => client.end(),
  }
}

describe('PostgreSQL pool size and EventLog lanes (PG_POOL_SIZE, PG_EVENT_LOG_LANES)', () => {
  it('a gateway backend opened with PG_POOL_SIZE=4 holds at most 4 connections however many queries wait', async () => {
    const url = await server.createDatabase()
    const { config, remove } = settings({ DATABASE_URL: url, PG_POOL_SIZE: '4' })
    const backend = await openBackend(config)
    const store = backend.store as PostgresStore
    const pgSide = await observer(url)
    try {
      expect(store.commitLanes).toBe(2)
      // every query of the pool waits for an advisory lock this connection holds
      await pgSide.client.query('SELECT pg_advisory_lock(7001)')
      const queries = Array.from({ length: 12 }, () =>
        store.pool.query('SELECT pg_advisory_xact_lock_shared(7001)'),
      )
      await pgSide.until(async () => (await pgSide.waitingForLocks()) === 4)
      expect(await pgSide.connections()).toBe(4)
      expect(store.pool.totalCount).toBe(4)
      expect(store.pool.waitingCount).toBe(8)
      await pgSide.client.query('SELECT pg_advisory_unlock(7001)')
      await Promise.all(queries)
      expect(await pgSide.connections()).toBeLessThanOrEqual(4)
    } finally {
      await pgSide.end()
      await store.close()
      remove()
    }
  })

  it('the EventLog commits in PG_POOL_SIZE/2 lanes at once (or PG_EVENT_LOG_LANES), and a read still gets a connection', async () => {
    for (const [env, lanes] of [
      [{ PG_POOL_SIZE: '6' }, 3],
      [{ PG_POOL_SIZE: '6', PG_EVENT_LOG_LANES: '2' }, 2],
    ] as const) {
      const url = await server.createDatabase()
      const { config, remove } = settings({ DATABASE_URL: url, ...env })
      const store = (await openBackend(config)).store as PostgresStore
      const pgSide = await observer(url)
      const sessions = Array.from({ length: 6 }, (_, i) => `ses_${i}`)
      try {
        expect(store.commitLanes).toBe(lanes)
        await store.registerNode(nodeRecord('node_a'))
        for (const id of sessions) await store.createSession(newSession(id), 'node_a')
        // as the gateway builds it: as many lanes as the store has
        const log = new EventLog(store, new InProcessEventBus())
        // every session's row held: each lane's commit waits for it, on a pool connection of its own
        await pgSide.client.query('BEGIN')
        await pgSide.client.query('SELECT 1 FROM sessions WHERE id = ANY($1) FOR UPDATE', [sessions])
        const appended = sessions.map((id) => log.append(id, { type: 'session.status', status: 'idle' }))
        log.commitNow()
        await pgSide.until(async () => (await pgSide.waitingForLocks()) === lanes)
        // the connections left serve reads meanwhile
        expect((await store.getSession('ses_0'))?.id).toBe('ses_0')
        expect(await pgSide.waitingForLocks()).toBe(lanes)
        expect(store.pool.totalCount).toBeLessThanOrEqual(6)
        await pgSide.client.query('ROLLBACK')
        expect((await Promise.all(appended)).map((e) => e.seq)).toEqual(sessions.map(() => 1))
      } finally {
        await pgSide.client.query('ROLLBACK').catch(() => {})
        await pgSide.end()
        await store.close()
        remove()
      }
    }
  })

  it('a wait for a free connection outlasting STORE_QUERY_TIMEOUT_SECONDS while the server answers the others is waited out; one while none is answered still fails', async () => {
    // 100 runs submitted at once to one node of a loaded cluster waited in the pool's queue past the bound while
    // each admission in turn was answered: 503 store_unavailable, as if the server hung (e2e/cluster.test.ts)
    const url = await server.createDatabase()
    const store = await PostgresStore.open(url, { poolSize: 2, queryTimeoutMs: 1000 })
    const held = [await store.pool.connect(), await store.pool.connect()]
    // the pool's timers and clock: the bound passes without a wait (the connections' sockets stay real)
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    try {
      const first = store.pool.connect()
      const waiting = store.pool.connect()
      await vi.advanceTimersByTimeAsync(600)
      // one connection handed back answered: the first in the queue takes it
      held[0]!.release()
      const next = await first
      // the bound passes for the second in the queue, a connection answered meanwhile (before: refused here with
      // "timeout exceeded when trying to connect", a 503 store_unavailable)
      await vi.advanceTimersByTimeAsync(600)
      next.release()
      const got = await waiting
      expect((await got.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      // both connections in use, and none handed back for the bound: the wait fails as for a server that hangs
      const late = store.pool.connect().then(
        () => 'connected',
        (err: Error) => err.message,
      )
      await vi.advanceTimersByTimeAsync(1000)
      expect(await late).toBe('timeout exceeded when trying to connect')
      got.release()
    } finally {
      vi.useRealTimers()
      held[1]!.release()
      await store.close()
    }
  })

  it('lanes as many as the pool, or more, are refused before any connection is opened', async () => {
    const url = await server.createDatabase()
    const pgSide = await observer(url)
    try {
      for (const commitLanes of [4, 5])
        await expect(PostgresStore.open(url, { poolSize: 4, commitLanes })).rejects.toThrow(
          `${commitLanes} commit lanes with a pool of 4 connections (from 1 to 3`,
        )
      await expect(PostgresStore.open(url, { poolSize: 1 })).rejects.toThrow('a pool of 1 connections')
      expect(await pgSide.connections()).toBe(0)
      // the gateway's settings refuse them at start (test/unit/config.test.ts); a config that skipped that check
      // is refused by the backend all the same, as a setting error
      const { config, remove } = settings({ DATABASE_URL: url, PG_POOL_SIZE: '4' })
      try {
        const refused = openBackend({ ...config, PG_EVENT_LOG_LANES: 4 })
        await expect(refused).rejects.toBeInstanceOf(ConfigError)
        await expect(refused).rejects.toThrow('4 commit lanes with a pool of 4 connections')
      } finally {
        remove()
      }
    } finally {
      await pgSide.end()
    }
  })
})
