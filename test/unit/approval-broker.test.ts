import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ApprovalAsk } from '../../src/agents/session.js'
import { ApprovalBroker } from '../../src/core/approvals.js'
import { EventLog } from '../../src/core/event-log.js'
import type { AppError } from '../../src/protocol/errors.js'
import type { Session } from '../../src/protocol/sessions.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { firstClaim, SessionTakenOver } from '../../src/store/store.js'
import { nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

async function setup(timeoutMs = 10_000) {
  const store = new SqliteStore(path.join(tempDir('broker-'), 'gw.db'))
  stores.push(store)
  const now = new Date().toISOString()
  const session: Session = {
    id: 'ses_1',
    agent: 'codex',
    agentSessionId: 'thread-1',
    status: 'running',
    cwd: '/w',
    model: null,
    sandbox: null,
    approvalPolicy: 'untrusted',
    forkedFrom: null,
    createdAt: now,
    updatedAt: now,
    turnCount: 0,
    lastSeq: 0,
  }
  await store.registerNode(nodeRecord('node_test'))
  await store.createSession(session, 'node_test')
  const log = new EventLog(store)
  const changes: string[] = []
  const broker = new ApprovalBroker(store, log, timeoutMs, async (id) => {
    changes.push(id)
  })
  return { store, log, broker, changes }
}

const ask: ApprovalAsk = {
  kind: 'command',
  command: 'rm -rf build',
  cwd: '/w',
  options: ['accept', 'decline', 'cancel'],
}

async function pendingId(broker: ApprovalBroker): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const [first] = await broker.list('pending')
    if (first) return first.id
    await new Promise((r) => setTimeout(r, 5))
  }
  throw new Error('no pending approval')
}

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p
    return 'ok'
  } catch (err) {
    return (err as AppError).code
  }
}

describe('ApprovalBroker', () => {
  it('stores the request, emits approval.requested, and resolves with the client answer', async () => {
    const { broker, store, changes } = await setup()
    const decision = broker.request('ses_1', 'turn_1', ask, new AbortController().signal)
    const id = await pendingId(broker)
    const answered = await broker.answer(id, 'accept')
    expect(answered).toMatchObject({ state: 'resolved', decision: 'accept', by: 'client' })
    expect(await decision).toBe('accept')
    const events = await store.eventsAfter('ses_1', 0, 10)
    expect(events.map((e) => e.type)).toEqual(['approval.requested', 'approval.resolved'])
    expect(events[0]).toMatchObject({
      approvalId: id,
      kind: 'command',
      command: 'rm -rf build',
      options: ask.options,
    })
    expect(changes.length).toBeGreaterThanOrEqual(2)
  })

  it('a decision the request did not offer is 400; a second answer is 409; an unknown id is 404', async () => {
    const { broker } = await setup()
    void broker.request('ses_1', null, ask, new AbortController().signal)
    const id = await pendingId(broker)
    expect(await codeOf(broker.answer(id, 'accept_for_session'))).toBe('invalid_request')
    expect(await codeOf(broker.answer(id, 'decline'))).toBe('ok')
    expect(await codeOf(broker.answer(id, 'accept'))).toBe('conflict')
    expect(await codeOf(broker.answer('apr_missing', 'accept'))).toBe('not_found')
  })

  it('two concurrent answers: exactly one wins', async () => {
    const { broker } = await setup()
    const decision = broker.request('ses_1', null, ask, new AbortController().signal)
    const id = await pendingId(broker)
    const results = await Promise.all([
      codeOf(broker.answer(id, 'accept')),
      codeOf(broker.answer(id, 'decline')),
    ])
    expect(results.sort()).toEqual(['conflict', 'ok'])
    expect(['accept', 'decline']).toContain(await decision)
  })

  it('nobody answers: declined by timeout', async () => {
    const { broker } = await setup(100)
    const decision = await broker.request('ses_1', null, ask, new AbortController().signal)
    expect(decision).toBe('decline')
    const [approval] = await broker.list('resolved')
    expect(approval).toMatchObject({ decision: 'decline', by: 'timeout' })
  })

  it('the turn ending cancels a pending approval', async () => {
    const { broker } = await setup()
    const controller = new AbortController()
    const decision = broker.request('ses_1', null, ask, controller.signal)
    await pendingId(broker)
    controller.abort()
    expect(await decision).toBe('cancel')
    expect((await broker.list('resolved'))[0]).toMatchObject({ by: 'turn_ended' })
  })

  it('recover() records approvals left pending in orphaned sessions as cancelled', async () => {
    const { broker, store, log } = await setup()
    void broker.request('ses_1', null, ask, new AbortController().signal)
    const id = await pendingId(broker)
    const restarted = new ApprovalBroker(store, log, 10_000, async () => {})
    await restarted.recover(['ses_1'])
    expect(await restarted.get(id)).toMatchObject({
      state: 'resolved',
      decision: 'cancel',
      by: 'server_restart',
    })
  })
})

describe('an approval asked by a node whose claim on the session went stale', () => {
  it('is refused (SessionTakenOver), recorded cancelled, and never announced', async () => {
    const { store, broker, changes } = await setup()
    await store.registerNode(nodeRecord('node_b'))
    await store.claimSession('ses_1', 'node_b')
    const asked = broker.request('ses_1', null, ask, new AbortController().signal, firstClaim)
    await expect(asked).rejects.toBeInstanceOf(SessionTakenOver)
    const [approval] = await store.listApprovals({ sessionId: 'ses_1' })
    expect(approval).toMatchObject({ state: 'resolved', decision: 'cancel', by: 'session_taken_over' })
    expect(broker.pendingCount).toBe(0)
    expect(changes).toEqual([])
    expect((await store.eventsAfter('ses_1', 0, 10)).map((e) => e.type)).toEqual([])
  })
})
