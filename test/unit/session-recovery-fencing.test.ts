import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { recoverSessions } from '../../src/core/session-recovery.js'
import { SessionState } from '../../src/core/session-state.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { firstClaim, type Store } from '../../src/store/store.js'
import { newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/**
 * The recovery's own writes are fenced by the claim the takeover gave: node B takes node A's session over and
 * stalls before it fails A's turn; node C takes the session from B, recovers it, and the session's next holder
 * (node D) runs a new turn. B wakes and goes on with its recovery: it must not fail D's turn nor set the state.
 */
describe('a session recovery by a node taken for dead in turn', () => {
  it("writes nothing over the session's next holder: its turn keeps running, its state and events stay", async () => {
    const store = new SqliteStore(path.join(tempDir('recovery-fence-'), 'gw.db'))
    stores.push(store)
    for (const id of ['node_a', 'node_b', 'node_c', 'node_d']) await store.registerNode(nodeRecord(id))
    await store.createSession(newSession('ses_1', { status: 'running' }), 'node_a')
    await store.createTurn(newTurn('trn_a', 'ses_1', { status: 'running' }), firstClaim)
    const log = new EventLog(store)
    const state = new SessionState(store, log, () => false)
    let eventsBeforeBWakes = 0
    // B's view of the store: right after its takeover, B stalls; C recovers the session from B, D reopens it
    const storeB = new Proxy(store, {
      get(target, prop) {
        if (prop !== 'takeOverSessions') return Reflect.get(target, prop)
        return async (lost: string[], to: string) => {
          const taken = await target.takeOverSessions(lost, to)
          expect(await recoverSessions(store, state, ['node_b'], 'node_c')).toHaveLength(1)
          const claimD = await store.claimSession('ses_1', 'node_d')
          await store.createTurn(newTurn('trn_d', 'ses_1', { status: 'running' }), claimD)
          await state.set('ses_1', 'running', claimD)
          eventsBeforeBWakes = (await store.eventsAfter('ses_1', 0, 100)).length
          return taken
        }
      },
    }) as Store
    const byB = await recoverSessions(
      storeB,
      new SessionState(storeB, log, () => false),
      ['node_a'],
      'node_b',
    )
    expect(byB.map((s) => s.id)).toEqual(['ses_1'])
    // A's turn failed once (by C), D's turn runs on, the session is D's and running, nothing of B's was stored
    expect(await store.getTurn('trn_a')).toMatchObject({ status: 'failed' })
    expect(await store.getTurn('trn_d')).toMatchObject({ status: 'running' })
    // A's turn counted once, by C (B's late end refused with the rest)
    expect(await store.getSession('ses_1')).toMatchObject({ status: 'running', turnCount: 1 })
    expect(await store.ownerOf('ses_1')).toBe('node_d')
    const events = await store.eventsAfter('ses_1', 0, 100)
    expect(events).toHaveLength(eventsBeforeBWakes)
    expect(events.filter((e) => e.type === 'turn.failed')).toHaveLength(1)
  })
})
