import { describe, expect, it } from 'vitest'
import { defaultPgTimeouts, PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { firstClaim, SessionTakenOver } from '../../src/store/store.js'
import { settledWithin } from '../../src/util/settled-within.js'
import { newSession } from '../contract/store-contract.js'
import { setStateAlone } from '../support/set-state.js'
import { sharedPostgres } from '../support/shared-postgres.js'

const server = sharedPostgres()
const node = (id: string) => ({ id, role: 'all', host: 'h', pid: 1, startedAt: 't', heartbeatAt: 't' })

describe('PostgreSQL store connections: timeouts (PG_IDLE_IN_TRANSACTION_SECONDS, PG_LOCK_TIMEOUT_SECONDS, PG_STATEMENT_TIMEOUT_SECONDS)', () => {
  it('every pool connection carries them', async () => {
    const url = await server.createDatabase()
    const store = await PostgresStore.open(url, {
      timeouts: { idleInTransactionMs: 7000, lockMs: 8000, statementMs: 9000 },
      queryTimeoutMs: 20_000,
    })
    const shown = async (s: PostgresStore, name: string) =>
      (await s.pool.query(`SHOW ${name}`)).rows[0][name] as string
    try {
      expect(await shown(store, 'idle_in_transaction_session_timeout')).toBe('7s')
      expect(await shown(store, 'lock_timeout')).toBe('8s')
      expect(await shown(store, 'statement_timeout')).toBe('9s')
    } finally {
      await store.close()
    }
    // a lock wait ends below STORE_QUERY_TIMEOUT_SECONDS (three quarters of it), a read's as a transaction's:
    // postgres-lock-wait.test.ts
    const bounded = await PostgresStore.open(url, {
      timeouts: { idleInTransactionMs: 7000, lockMs: 8000, statementMs: 9000 },
      queryTimeoutMs: 2000,
    })
    try {
      expect(await shown(bounded, 'lock_timeout')).toBe('1500ms')
    } finally {
      await bounded.close()
    }
    const byDefault = await server.openStore(url)
    const { rows } = await byDefault.pool.query('SHOW idle_in_transaction_session_timeout')
    expect(rows[0].idle_in_transaction_session_timeout).toBe(
      `${defaultPgTimeouts.idleInTransactionMs / 1000}s`,
    )
  })

  it("a node paused inside a transaction on a session's row: its connection is cut, the takeover proceeds, and the node's late write is refused", async () => {
    const url = await server.createDatabase()
    const paused = await PostgresStore.open(url, {
      timeouts: { ...defaultPgTimeouts, idleInTransactionMs: 2000 },
    })
    // its connections' lock wait (three quarters of STORE_QUERY_TIMEOUT_SECONDS: 1.5 s) is shorter than the cut:
    // the takeover waits as long as PG_LOCK_TIMEOUT_SECONDS says (30 s), or it would give up before the cut
    const taker = await PostgresStore.open(url, { queryTimeoutMs: 2000 })
    try {
      await taker.registerNode(node('node_a'))
      await taker.registerNode(node('node_b'))
      await paused.createSession(newSession('ses_1'), 'node_a')
      // node_a's connection, in the middle of a session write when its process stopped: inside a transaction,
      // holding the session's row lock, sending nothing more
      const held = await paused.pool.connect()
      const cut = new Promise<Error & { code?: string }>((resolve) => held.on('error', resolve))
      try {
        await held.query('BEGIN')
        await held.query("SELECT claim FROM sessions WHERE id = 'ses_1' FOR UPDATE")
        // node_b takes node_a's sessions over: it waits for that row lock until PostgreSQL ends node_a's
        // connection (without the timeout it waits as long as node_a stays paused: forever here)
        const taken = await settledWithin(taker.takeOverSessions(['node_a'], 'node_b'), 20_000)
        expect(taken?.map((s) => s.id)).toEqual(['ses_1'])
        // idle_in_transaction_session_timeout (SQLSTATE 25P03) ended it
        expect((await cut).code).toBe('25P03')
        await expect(held.query('SELECT 1')).rejects.toThrow()
      } finally {
        held.release(true)
      }
      // node_a wakes: its write with the claim it held is refused, and the pool still serves it
      await expect(
        setStateAlone(paused, 'ses_1', { status: 'running', at: 't' }, firstClaim),
      ).rejects.toBeInstanceOf(SessionTakenOver)
      expect(await taker.ownerOf('ses_1')).toBe('node_b')
    } finally {
      await paused.close()
      await taker.close()
    }
  })
})
