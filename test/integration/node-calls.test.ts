import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CallUnanswered, NodeCalls } from '../../src/core/node-calls.js'
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

  const signalRows = async () =>
    (await storeA.pool.query('SELECT count(*)::int AS n FROM node_signals')).rows[0] as { n: number }

  it('ends with 503 worker_unavailable when the callee dies, or when nobody answers in time', async () => {
    const pending = a.call('node_b', 'hang', {}, 60_000)
    alive = false
    await expect(pending).rejects.toMatchObject({ code: 'worker_unavailable', status: 503 })
    alive = true
    await expect(a.call('node_gone', 'echo', { text: 'x' }, 300)).rejects.toMatchObject({
      code: 'worker_unavailable',
    })
  })

  it('says whether the callee took a call it left unanswered: taken (it may have acted) or withdrawn (never acted on)', async () => {
    // node_b took `hang` (its handler runs), then "dies": it may have acted, the caller must not send it again
    const handled = new Promise<void>((resolve) =>
      b.handle('hangSeen', () => {
        resolve()
        return new Promise(() => {})
      }),
    )
    const hung = a.call('node_b', 'hangSeen', {}, 60_000).catch((e: unknown) => e)
    await handled
    alive = false
    const took = await hung
    alive = true
    expect(took).toBeInstanceOf(CallUnanswered)
    expect(took).toMatchObject({ code: 'worker_unavailable', taken: true, why: 'dead', to: 'node_b' })

    // node_dead never takes anything (no process listens for it): once it is judged dead the call is withdrawn,
    // so it can never be acted on, and the caller knows it may do it elsewhere
    let deadYet = false
    const c = new NodeCalls('node_a2', signalsA, async () => !deadYet, 50)
    const pending = c.call('node_dead', 'echo', { text: 'lost' }, 60_000).catch((e: unknown) => e)
    // posted: waiting in the table for a taker
    while ((await signalRows()).n === 0) await new Promise((r) => setImmediate(r))
    deadYet = true
    const never = await pending
    expect(never).toMatchObject({ code: 'worker_unavailable', taken: false, why: 'dead', to: 'node_dead' })
    expect(await signalRows()).toEqual({ n: 0 })

    // a live node that takes nothing in time: withdrawn too (a node that wakes later finds nothing to do)
    const late = await a.call('node_gone', 'echo', { text: 'x' }, 300).catch((e: unknown) => e)
    expect(late).toMatchObject({ taken: false, why: 'timeout' })
    expect(await signalRows()).toEqual({ n: 0 })
  })
})
