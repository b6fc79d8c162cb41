import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ApprovalAsk } from '../../src/agents/session.js'
import { ApprovalBroker } from '../../src/core/approvals.js'
import { EventLog } from '../../src/core/event-log.js'
import { ApprovalNotices } from '../../src/core/ops/approval-notices.js'
import { Redactor } from '../../src/process/secrets.js'
import type { AppError } from '../../src/protocol/errors.js'
import type { Session } from '../../src/protocol/sessions.js'
import type { NodeSignals } from '../../src/store/node-signals.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { firstClaim, SessionTakenOver } from '../../src/store/store.js'
import { nodeRecord } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

async function setup(timeoutMs = 10_000, redactor = new Redactor([])) {
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
  const log = new EventLog(store, undefined, redactor)
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
  it('answers a request whose turn already ended with cancel at once, and stores nothing', async () => {
    // a timeout longer than the test's: without the check the request would wait for it
    const { broker, store } = await setup(600_000)
    const ended = new AbortController()
    ended.abort()
    expect(await broker.request('ses_1', 'turn_1', ask, ended.signal)).toBe('cancel')
    expect(await broker.list()).toEqual([])
    expect(await store.eventsAfter('ses_1', 0, 10)).toEqual([])
    const noCancel: ApprovalAsk = { ...ask, options: ['accept', 'decline'] }
    expect(await broker.request('ses_1', 'turn_1', noCancel, ended.signal)).toBe('decline')
  })

  it('cancels a request whose turn ends while it is being stored', async () => {
    const { broker, store } = await setup(600_000)
    const turn = new AbortController()
    // the turn ends in the middle of the request's own store write
    const createApproval = store.createApproval.bind(store)
    store.createApproval = async (approval) => {
      turn.abort()
      return createApproval(approval)
    }
    expect(await broker.request('ses_1', 'turn_1', ask, turn.signal)).toBe('cancel')
    const [approval] = await broker.list()
    expect(approval).toMatchObject({ state: 'resolved', decision: 'cancel', by: 'turn_ended' })
    // never announced: no client was asked
    expect(await store.eventsAfter('ses_1', 0, 10)).toEqual([])
  })

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

  it('a secret in the request (a command the model wrote a key into) is redacted in the record as in the event', async () => {
    const secret = 'sk-approval-secret-4f9e2d'
    const { broker, store } = await setup(10_000, new Redactor([secret]))
    const decision = broker.request(
      'ses_1',
      'turn_1',
      { ...ask, command: `curl -H 'x-key: ${secret}' http://127.0.0.1/`, reason: `uses ${secret}` },
      new AbortController().signal,
    )
    const id = await pendingId(broker)
    const stored = await store.getApproval(id)
    expect(stored?.command).toBe("curl -H 'x-key: [REDACTED]' http://127.0.0.1/")
    expect(stored?.reason).toBe('uses [REDACTED]')
    expect(JSON.stringify(await store.eventsAfter('ses_1', 0, 10))).not.toContain(secret)
    await broker.answer(id, 'accept')
    expect(await decision).toBe('accept')
    expect(JSON.stringify(await broker.list('resolved'))).not.toContain(secret)
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
    await restarted.recover(await store.takeOverSessions(['node_test'], 'node_b'))
    expect(await restarted.get(id)).toMatchObject({
      state: 'resolved',
      decision: 'cancel',
      by: 'server_restart',
    })
  })

  it("recover() by a node that lost the session again meanwhile cancels nothing of the next holder's (its claim is stale)", async () => {
    const { broker, store, log } = await setup()
    void broker.request('ses_1', null, ask, new AbortController().signal)
    const left = await pendingId(broker)
    // node_b takes the session over, then stalls before it cancels; node_c takes it from node_b and recovers it
    const [takenByB] = await store.takeOverSessions(['node_test'], 'node_b')
    const byC = new ApprovalBroker(store, log, 10_000, async () => {})
    await byC.recover(await store.takeOverSessions(['node_b'], 'node_c'))
    // the session's next holder asks again (announced once onChange is called)
    const [taken] = await store.takeOverSessions(['node_c'], 'node_d')
    let announced!: () => void
    const onChange = new Promise<void>((resolve) => {
      announced = resolve
    })
    const byD = new ApprovalBroker(store, log, 10_000, async () => announced())
    void byD.request('ses_1', null, ask, new AbortController().signal, taken!.claim)
    await onChange
    const asked = (await store.listApprovals({ state: 'pending' }))[0]!
    // node_b wakes and goes on with its recovery: its cancel is refused, and nothing is announced
    const before = (await store.eventsAfter('ses_1', 0, 100)).length
    await new ApprovalBroker(store, log, 10_000, async () => {}).recover([takenByB!])
    expect(await store.getApproval(asked.id)).toMatchObject({ state: 'pending' })
    expect(await store.getApproval(left)).toMatchObject({ by: 'server_restart' })
    expect((await store.eventsAfter('ses_1', 0, 100)).length).toBe(before)
  })

  it('recover() keeps an answer a client gave first, and goes on cancelling the rest', async () => {
    const { store, log } = await setup()
    let asked = 0
    let bothAsked!: () => void
    const announced = new Promise<void>((resolve) => {
      bothAsked = resolve
    })
    const asking = new ApprovalBroker(store, log, 10_000, async () => {
      if (++asked === 2) bothAsked()
    })
    void asking.request('ses_1', null, ask, new AbortController().signal)
    void asking.request('ses_1', null, ask, new AbortController().signal)
    await announced
    const pending = await store.listApprovals({ state: 'pending' })
    const taken = await store.takeOverSessions(['node_test'], 'node_b')
    // the first one is answered while the recovery runs: between its list and its cancel
    const [first, second] = pending.sort((a, b) => (a.id < b.id ? -1 : 1))
    const recovering = new ApprovalBroker(store, log, 10_000, async () => {})
    const list = recovering.list.bind(recovering)
    recovering.list = async (state, sessionId) => {
      const listed = await list(state, sessionId)
      await asking.answer(first!.id, 'accept', 'alice')
      return listed
    }
    await recovering.recover(taken)
    expect(await store.getApproval(first!.id)).toMatchObject({ decision: 'accept', by: 'alice' })
    expect(await store.getApproval(second!.id)).toMatchObject({ decision: 'cancel', by: 'server_restart' })
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

describe('an answer of the gateway its own store write failed (timeout, turn ended)', () => {
  /** The store's next `n` resolveApproval calls fail, as a PostgreSQL connection lost at that moment does. */
  function failResolves(store: SqliteStore, n: number) {
    const resolve = store.resolveApproval.bind(store)
    let failing = n
    store.resolveApproval = async (...args) => {
      if (failing-- > 0) throw new Error('Connection terminated unexpectedly')
      return resolve(...args)
    }
  }

  it('a timeout is tried again: stored and announced as declined, and the agent gets the decline', async () => {
    const { store, log, changes } = await setup()
    const notices = new ApprovalNotices()
    const broker = new ApprovalBroker(store, log, 50, async (id) => void changes.push(id), undefined, {
      notices,
      retryMs: [1, 1],
    })
    failResolves(store, 2)
    expect(await broker.request('ses_1', 'turn_1', ask, new AbortController().signal)).toBe('decline')
    expect((await broker.list())[0]).toMatchObject({ state: 'resolved', decision: 'decline', by: 'timeout' })
    expect((await store.eventsAfter('ses_1', 0, 10)).map((e) => e.type)).toEqual([
      'approval.requested',
      'approval.resolved',
    ])
    expect(notices).toMatchObject({ resolveFailures: 2, resolvesGivenUp: 0 })
    expect(broker.pendingCount).toBe(0)
  })

  it('a store that keeps failing: the agent gets the decline, the approval is left pending for the sweep', async () => {
    const { store, log } = await setup()
    const notices = new ApprovalNotices()
    const broker = new ApprovalBroker(store, log, 50, async () => {}, undefined, { notices, retryMs: [1] })
    failResolves(store, 2)
    expect(await broker.request('ses_1', 'turn_1', ask, new AbortController().signal)).toBe('decline')
    expect((await broker.list())[0]).toMatchObject({ state: 'pending' })
    expect(notices).toMatchObject({ resolveFailures: 2, resolvesGivenUp: 1 })
    // nobody waits for it here any more: the sweep may cancel it
    expect(broker.isWaiting((await broker.list())[0]!.id)).toBe(false)
  })

  it("the turn's end is tried again: stored as cancelled, and the agent gets the cancel", async () => {
    const { store, log } = await setup()
    const broker = new ApprovalBroker(store, log, 600_000, async () => {}, undefined, { retryMs: [1] })
    const turn = new AbortController()
    const decision = broker.request('ses_1', 'turn_1', ask, turn.signal)
    await pendingId(broker)
    failResolves(store, 1)
    turn.abort()
    expect(await decision).toBe('cancel')
    expect((await broker.list())[0]).toMatchObject({ state: 'resolved', by: 'turn_ended' })
  })

  it('a cancel of a request whose turn ended while it was stored is tried again', async () => {
    const { store, log } = await setup()
    const broker = new ApprovalBroker(store, log, 600_000, async () => {}, undefined, { retryMs: [1] })
    const turn = new AbortController()
    const createApproval = store.createApproval.bind(store)
    store.createApproval = async (approval) => {
      turn.abort()
      failResolves(store, 1)
      return createApproval(approval)
    }
    expect(await broker.request('ses_1', 'turn_1', ask, turn.signal)).toBe('cancel')
    expect((await broker.list())[0]).toMatchObject({
      state: 'resolved',
      decision: 'cancel',
      by: 'turn_ended',
    })
  })
})

describe('an answer that reaches the agent another way than planned', () => {
  /** Node signals that lose every message (they are delivered at most once). */
  const lostSignals = (): NodeSignals => ({
    send: async () => {},
    onMessage: () => {},
    close: async () => {},
  })

  it("a client's answer on another node whose signal is lost: the asking node's timeout finds it, the agent gets it", async () => {
    const { store, log } = await setup()
    await store.registerNode(nodeRecord('node_b'))
    const other = new ApprovalBroker(store, log, 600_000, async () => {}, {
      node: 'node_b',
      signals: lostSignals(),
    })
    let answered: Promise<unknown> | undefined
    // answered on node_b as soon as it is announced, well before the asking node's timeout
    const asking = new ApprovalBroker(
      store,
      log,
      500,
      async () => {
        const [pending] = await store.listApprovals({ state: 'pending' })
        if (pending && !answered) answered = other.answer(pending.id, 'accept', 'alice')
      },
      { node: 'node_test', signals: lostSignals() },
    )
    const decision = asking.request('ses_1', 'turn_1', ask, new AbortController().signal)
    const id = await pendingId(asking)
    expect(await decision).toBe('accept')
    await answered
    expect(await store.getApproval(id)).toMatchObject({ decision: 'accept', by: 'alice' })
    expect(asking.pendingCount).toBe(0)
  })

  it('an answer stored whose announcement failed still reaches the agent', async () => {
    const { store, log, broker } = await setup()
    const decision = broker.request('ses_1', 'turn_1', ask, new AbortController().signal)
    const id = await pendingId(broker)
    const append = log.append.bind(log)
    log.append = async (...args) => {
      if (args[1].type === 'approval.resolved') throw new Error('Connection terminated unexpectedly')
      return append(...args)
    }
    await expect(broker.answer(id, 'accept')).rejects.toThrow(/Connection terminated/)
    expect(await decision).toBe('accept')
    expect(await store.getApproval(id)).toMatchObject({ state: 'resolved', decision: 'accept' })
  })

  it("a session state that could not be recomputed after the request was announced: the agent waits for the client's answer", async () => {
    const { store, log } = await setup()
    let refreshes = 0
    const broker = new ApprovalBroker(store, log, 600_000, async () => {
      if (++refreshes === 1) throw new Error('Connection terminated unexpectedly')
    })
    const decision = broker.request('ses_1', 'turn_1', ask, new AbortController().signal)
    const id = await pendingId(broker)
    // announced and answerable: the agent must get what the client answers, not a cancel the client never sees
    await broker.answer(id, 'accept')
    expect(await decision).toBe('accept')
  })
})
