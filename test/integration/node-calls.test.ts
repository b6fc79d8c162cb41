import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NodeCalls } from '../../src/core/node-calls.js'
import { AppError } from '../../src/protocol/errors.js'
import { PgNodeSignals } from '../../src/store/postgres/pg-node-signals.js'
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { sharedPostgres } from '../support/shared-postgres.js'

/** Calls between two nodes over PostgreSQL NOTIFY (what API nodes use to reach the worker holding a session). */
describe('NodeCalls over PgNodeSignals (real PostgreSQL)', () => {
  const server = sharedPostgres()
  let storeA: PostgresStore
  let storeB: PostgresStore
  let signalsA: PgNodeSignals
  let signalsB: PgNodeSignals
  let alive = true
  let a: NodeCalls
  let b: NodeCalls

  beforeAll(async () => {
    const url = await server.createDatabase()
    storeA = await server.openStore(url)
    storeB = await server.openStore(url)
    signalsA = await PgNodeSignals.start(url, storeA.pool, 'node_a')
    signalsB = await PgNodeSignals.start(url, storeB.pool, 'node_b')
    a = new NodeCalls('node_a', signalsA, async () => alive, 50)
    b = new NodeCalls('node_b', signalsB, async () => true, 50)
    b.handle<{ text: string }>('echo', async (p) => ({ echoed: p.text, by: 'node_b' }))
    b.handle<{ id: string }>('refuse', async (p) => {
      throw new AppError('conflict', `session ${p.id} is busy`, { retryAfterSeconds: 1 })
    })
    b.handle('hang', () => new Promise(() => {}))
  }, 60_000)

  afterAll(async () => {
    await signalsA?.close()
    await signalsB?.close()
  })

  it('answers a call, also when the request and the answer are larger than a NOTIFY payload', async () => {
    expect(await a.call('node_b', 'echo', { text: 'hi' }, 10_000)).toEqual({ echoed: 'hi', by: 'node_b' })
    const big = 'x'.repeat(50_000)
    expect(await a.call('node_b', 'echo', { text: big }, 10_000)).toEqual({ echoed: big, by: 'node_b' })
    // the large messages were taken from the table
    expect((await storeA.pool.query('SELECT count(*)::int AS n FROM node_signals')).rows[0]).toEqual({ n: 0 })
  })

  it("keeps the callee's error code and details (the client gets the same status)", async () => {
    const err = await a.call('node_b', 'refuse', { id: 'ses_1' }, 10_000).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AppError)
    expect(err).toMatchObject({ code: 'conflict', status: 409, message: 'session ses_1 is busy' })
    expect((err as AppError).details).toEqual({ retryAfterSeconds: 1 })
    await expect(a.call('node_b', 'nothing', {}, 10_000)).rejects.toMatchObject({ code: 'internal' })
  })

  it('ends with 503 worker_unavailable when the callee dies, or when nobody answers in time', async () => {
    const pending = a.call('node_b', 'hang', {}, 60_000)
    alive = false
    await expect(pending).rejects.toMatchObject({ code: 'worker_unavailable', status: 503 })
    alive = true
    await expect(a.call('node_gone', 'echo', { text: 'x' }, 300)).rejects.toMatchObject({
      code: 'worker_unavailable',
    })
  })
})
