import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../src/protocol/events.js'
import type { Session } from '../../src/protocol/sessions.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { type SessionStateRead, SessionTakenOver } from '../../src/store/store.js'
import { newApproval, newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { setStateAlone } from '../support/set-state.js'
import { tempDir } from '../support/temp.js'

/**
 * A turn step that carries the session's claim (a warm turn's start, its agent turn id, its end) reads the
 * session's row once: its claim and its state in one SELECT (with the turn's session, for a step of a turn),
 * inside the step's write transaction. Counted at better-sqlite3's statements, on a real store.
 */

/** Every statement's SQL that better-sqlite3 reads a row with (`get`, `all`) while counting is on. */
const reads: string[] = []
const statement = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as {
  get: (...args: unknown[]) => unknown
  all: (...args: unknown[]) => unknown
  source: string
}
const { get, all } = statement
let counting = false
statement.get = function (this: typeof statement, ...args: unknown[]) {
  if (counting) reads.push(this.source)
  return get.apply(this, args)
}
statement.all = function (this: typeof statement, ...args: unknown[]) {
  if (counting) reads.push(this.source)
  return all.apply(this, args)
}
afterEach(() => {
  counting = false
  reads.length = 0
})

/**
 * The SELECTs of the fence and the state among them: not a write's RETURNING (read with `get` too), an event's first
 * seq (read from the events, once per session) nor a turn's document (read to merge its update into).
 */
const selects = () =>
  reads.filter((sql) => /^\s*SELECT/i.test(sql) && !/FROM events|body FROM turns/.test(sql))

async function heldSession() {
  const store = new SqliteStore(path.join(tempDir('fenced-reads-'), 'gw.db'))
  await store.registerNode(nodeRecord('node_a'))
  await store.createSession(newSession('ses_1'), 'node_a')
  const claim = await store.claimSession('ses_1', 'node_a')
  return { store, claim }
}

const at = '2026-01-01T00:01:00.000Z'
const statusEvent = (ownerId: string, status: Session['status']) => ({
  ownerId,
  event: { type: 'session.status', status } as AgentEvent,
  at,
})

describe("a fenced turn step reads the session's claim and state in one statement", () => {
  it("a turn's start, its agent turn id and its end: one SELECT each", async () => {
    const { store, claim } = await heldSession()
    const seen: SessionStateRead[] = []
    const running = (read: SessionStateRead) => {
      seen.push(read)
      return read.status === 'running' ? undefined : { status: 'running' as const, at }
    }
    counting = true
    const started = await store.createTurnWithEvents(newTurn('turn_1', 'ses_1'), claim, running, (step) =>
      step?.status ? [statusEvent('ses_1', step.status)] : [],
    )
    expect(selects()).toHaveLength(1)
    expect(started.step?.status).toBe('running')

    // the agent's turn id: the step computes no state, its claim read with the turn's session
    reads.length = 0
    await store.updateTurnWithEvents('turn_1', { agentTurnId: 'agent-1' }, undefined, claim, () => [])
    expect(selects()).toHaveLength(1)
    reads.length = 0
    await store.updateTurnWithEvents('turn_1', { agentTurnId: 'agent-1' }, running, claim, () => [])
    expect(selects()).toHaveLength(1)

    reads.length = 0
    const idle = (read: SessionStateRead) => {
      seen.push(read)
      return read.pendingApproval ? 'waiting_for_approval' : 'idle'
    }
    const ended = await store.completeTurnWithEvents(
      'turn_1',
      { status: 'completed' },
      at,
      idle,
      claim,
      () => [],
    )
    expect(selects()).toHaveLength(1)
    expect(ended.step?.status).toBe('idle')
    counting = false
    // each step's function got the state as it stood in its transaction
    expect(seen).toEqual([
      { status: 'idle', pendingApproval: false, owner: 'node_a' },
      { status: 'running', pendingApproval: false, owner: 'node_a' },
      { status: 'running', pendingApproval: false, owner: 'node_a' },
    ])
    expect(await store.getSession('ses_1')).toMatchObject({ status: 'idle', turnCount: 1 })
    await store.close()
  })

  it('the read sees a pending approval and an archive stored before the step', async () => {
    const { store, claim } = await heldSession()
    await store.createTurn(newTurn('turn_1', 'ses_1', { status: 'running' }))
    await store.createApproval(newApproval('apr_1', 'ses_1'))
    const seen: SessionStateRead[] = []
    const settled = (read: SessionStateRead) => {
      seen.push(read)
      if (read.status === 'archived') return undefined
      return read.pendingApproval ? 'waiting_for_approval' : 'idle'
    }
    const waiting = await store.completeTurnWithEvents(
      'turn_1',
      { status: 'completed' },
      at,
      settled,
      claim,
      () => [],
    )
    expect(waiting.step?.status).toBe('waiting_for_approval')
    await store.createTurn(newTurn('turn_2', 'ses_1', { status: 'running' }))
    await setStateAlone(store, 'ses_1', { status: 'archived', at })
    const archived = await store.completeTurnWithEvents(
      'turn_2',
      { status: 'completed' },
      at,
      settled,
      claim,
      () => [],
    )
    expect(archived.step?.status).toBeUndefined()
    expect(seen.map((r) => [r.status, r.pendingApproval])).toEqual([
      ['idle', true],
      ['archived', true],
    ])
    expect(await store.getSession('ses_1')).toMatchObject({ status: 'archived', turnCount: 2 })
    await store.close()
  })

  it('a stale claim is refused before the state is asked for, and nothing is stored', async () => {
    const { store, claim } = await heldSession()
    await store.createTurn(newTurn('turn_1', 'ses_1', { status: 'running' }))
    await store.claimSession('ses_1', 'node_a') // taken over (by this node again): the old claim is stale
    let asked = 0
    const idle = () => {
      asked++
      return 'idle' as const
    }
    await expect(
      store.completeTurnWithEvents('turn_1', { status: 'completed' }, at, idle, claim, () => []),
    ).rejects.toBeInstanceOf(SessionTakenOver)
    await expect(
      store.createTurnWithEvents(
        newTurn('turn_2', 'ses_1'),
        claim,
        () => ({ status: 'running', at }),
        () => [],
      ),
    ).rejects.toBeInstanceOf(SessionTakenOver)
    expect(asked).toBe(0)
    expect(await store.getTurn('turn_1')).toMatchObject({ status: 'running' })
    expect(await store.getTurn('turn_2')).toBeUndefined()
    expect(await store.getSession('ses_1')).toMatchObject({ status: 'idle', turnCount: 0 })
    await store.close()
  })
})
