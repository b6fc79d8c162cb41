import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../src/protocol/events.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

/**
 * A turn's end is one transaction with no nested one: its step runs as part of the transaction that stores it with
 * its events (SAVEPOINT and RELEASE were two statements a turn that no partial rollback needs). Counted at
 * better-sqlite3's statements (`run`: BEGIN, SAVEPOINT, COMMIT and the writes), on a real store.
 */
const runs: string[] = []
const statement = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as {
  run: (...args: unknown[]) => unknown
  source: string
}
const { run } = statement
let counting = false
statement.run = function (this: typeof statement, ...args: unknown[]) {
  if (counting) runs.push(this.source)
  return run.apply(this, args)
}
afterEach(() => {
  counting = false
  runs.length = 0
})

const at = '2026-01-01T00:01:00.000Z'
const control = () => runs.filter((sql) => /^\s*(BEGIN|SAVEPOINT|RELEASE|COMMIT|ROLLBACK)/i.test(sql))

async function runningTurn() {
  const store = new SqliteStore(path.join(tempDir('turn-end-statements-'), 'gw.db'))
  await store.registerNode(nodeRecord('node_a'))
  await store.createSession(newSession('ses_1'), 'node_a')
  const claim = await store.claimSession('ses_1', 'node_a')
  await store.createTurn(newTurn('turn_1', 'ses_1', { status: 'running' }))
  return { store, claim }
}

const completed = (ownerId: string) => ({
  ownerId,
  event: { type: 'turn.completed', turnId: 'turn_1', status: 'completed' } as AgentEvent,
  at,
})

describe("a turn's end: one transaction, nothing nested in it", () => {
  it('with its events and the claim (a warm turn): BEGIN IMMEDIATE and COMMIT only', async () => {
    const { store, claim } = await runningTurn()
    counting = true
    const ended = await store.completeTurnWithEvents(
      'turn_1',
      { status: 'completed' },
      at,
      'idle',
      claim,
      () => [completed('ses_1')],
    )
    counting = false
    expect(control().map((sql) => sql.split(/\s/)[0]?.toUpperCase())).toEqual(['BEGIN', 'COMMIT'])
    expect(ended.step?.status).toBe('idle')
    expect(ended.events.map((e) => e.type)).toEqual(['turn.completed'])
    expect(await store.getSession('ses_1')).toMatchObject({ status: 'idle', turnCount: 1 })
    expect(await store.getTurn('turn_1')).toMatchObject({ status: 'completed' })
    await store.close()
  })

  it('without a claim, and on its own (completeTurn): one transaction each, the same rows', async () => {
    const { store } = await runningTurn()
    counting = true
    await store.completeTurnWithEvents('turn_1', { status: 'completed' }, at, 'idle', undefined, () => [
      completed('ses_1'),
    ])
    expect(control().map((sql) => sql.split(/\s/)[0]?.toUpperCase())).toEqual(['BEGIN', 'COMMIT'])
    runs.length = 0
    await store.createTurn(newTurn('turn_2', 'ses_1', { status: 'running' }))
    runs.length = 0
    const step = await store.completeTurn('turn_2', { status: 'failed' }, at, 'idle')
    expect(control().map((sql) => sql.split(/\s/)[0]?.toUpperCase())).toEqual(['BEGIN', 'COMMIT'])
    counting = false
    expect(step?.status).toBe('idle')
    expect(await store.getSession('ses_1')).toMatchObject({ status: 'idle', turnCount: 2 })
    await store.close()
  })
})
