import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ApprovalBroker } from '../../src/core/approvals.js'
import { EventLog } from '../../src/core/event-log.js'
import { recoverSessions } from '../../src/core/session-recovery.js'
import { SessionState } from '../../src/core/session-state.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { firstClaim } from '../../src/store/store.js'
import { newSession, newTurn, nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/**
 * A session taken over from a dead node with a turn waiting for an approval: a client that follows the session and
 * reads the approval once it sees the turn fail finds it answered. The approval was cancelled after the turn failed
 * before, and a cluster test that read it at `turn.failed` found it still pending.
 */
describe('recovering a session of a dead node', () => {
  it('cancels its pending approval before its turn fails, then leaves the session idle', async () => {
    const store = new SqliteStore(path.join(tempDir('recovery-order-'), 'gw.db'))
    stores.push(store)
    for (const id of ['node_a', 'node_b']) await store.registerNode(nodeRecord(id))
    await store.createSession(newSession('ses_1', { status: 'running' }), 'node_a')
    await store.createTurn(newTurn('trn_a', 'ses_1', { status: 'running' }), firstClaim)
    await store.createTurn(newTurn('trn_q', 'ses_1', { status: 'queued' }), firstClaim)
    const log = new EventLog(store)
    const asking = new ApprovalBroker(store, log, 60_000, async () => {})
    const asked = new AbortController()
    void asking
      .request(
        'ses_1',
        'trn_a',
        { kind: 'command', command: 'rm -rf build', cwd: '/w', options: ['accept', 'decline', 'cancel'] },
        asked.signal,
      )
      .catch(() => {})
    await expect.poll(async () => (await store.listApprovals({ state: 'pending' })).length).toBe(1)
    const [pending] = await store.listApprovals({ state: 'pending' })

    const broker = new ApprovalBroker(store, log, 60_000, async () => {})
    const state = new SessionState(store, log, () => false)
    const taken = await recoverSessions(store, state, ['node_a'], 'node_b', (s) => broker.recover([s]))
    asked.abort()

    expect(taken.map((s) => s.id)).toEqual(['ses_1'])
    expect(await store.getApproval(pending!.id)).toMatchObject({
      state: 'resolved',
      decision: 'cancel',
      by: 'server_restart',
    })
    const types = (await store.eventsAfter('ses_1', 0, 100)).map((e) => e.type)
    expect(types.indexOf('approval.resolved')).toBeGreaterThan(types.indexOf('approval.requested'))
    expect(types.indexOf('turn.failed')).toBeGreaterThan(types.indexOf('approval.resolved'))
    expect(await store.getTurn('trn_a')).toMatchObject({ status: 'failed' })
    // the running turn had gone to its agent: its end counts, as any ended turn that ran does (it was not counted
    // before, so a fork's forkedAtTurn left out the parent's last ended turn); the queued one never started and
    // fails uncounted (its agent never had it)
    expect(await store.getTurn('trn_q')).toMatchObject({ status: 'failed' })
    expect(await store.getSession('ses_1')).toMatchObject({ status: 'idle', turnCount: 1 })
  })
})
