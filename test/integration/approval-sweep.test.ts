import { describe, expect, it } from 'vitest'
import type { ApprovalAsk, ApprovalDecision, SessionHooks } from '../../src/agents/session.js'
import { sweepApprovals, sweptBy } from '../../src/core/approval-sweep.js'
import { ApprovalBroker } from '../../src/core/approvals.js'
import type { Approval } from '../../src/protocol/sessions.js'
import type { NodeSignals } from '../../src/store/node-signals.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { newSession, newTurn } from '../contract/store-contract.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'
import { setStateAlone } from '../support/set-state.js'
import { sharedPostgres } from '../support/shared-postgres.js'

/**
 * An approval left pending after its turn ended, its session `waiting_for_approval` with no turn running: what the
 * cluster stress saw once (seed 84). The broker's own answer at the turn's end (a cancel) is a store write; when
 * it failed, nothing tried again (now it does, a few times: test/unit/approval-broker.test.ts), and nothing else
 * ever answered the approval. The sweep (core/approval-sweep.ts) cancels such approvals (`by: turn_gone`) and
 * recomputes the session's state; it leaves alone what someone may still answer.
 */

const ask: ApprovalAsk = {
  kind: 'command',
  command: 'make',
  cwd: '/w',
  options: ['accept', 'decline', 'cancel'],
}

/**
 * An agent whose turn asks an approval. `ends`: once it is announced, the turn ends (interrupted) while the store
 * fails every answer, so what the turn's end cancels stays pending. `waits`: the turn waits for the answer and
 * ends with it as its final response.
 */
function agentAsking(mode: 'ends' | 'waits', failResolves: (failing: boolean) => void) {
  let announced!: () => void
  const asked = new Promise<void>((resolve) => (announced = resolve))
  const agent = (hooks: SessionHooks) =>
    ({
      async *turn() {
        yield { type: 'turn.started', turnId: 'agent-turn-1' }
        const ended = new AbortController()
        const decision: Promise<ApprovalDecision> = hooks.requestApproval(ask, ended.signal)
        await asked
        if (mode === 'waits') {
          const text = await decision
          yield { type: 'item.completed', item: { id: 'm1', type: 'agent_message', text } }
          yield { type: 'turn.completed', turnId: 'agent-turn-1', status: 'completed', usage: null }
          return
        }
        failResolves(true)
        ended.abort()
        // the broker gave up recording the cancel: the agent gets it all the same
        expect(await decision).toBe('cancel')
        failResolves(false)
        yield { type: 'turn.completed', turnId: 'agent-turn-1', status: 'interrupted', usage: null }
      },
      close: async () => {},
    }) as never
  return { agent, announced, asked }
}

/** Where the test's store comes from: a SQLite file of the test's dir, or the test's own PostgreSQL database. */
type StoreSource = (
  failing: <S extends Store>(store: S) => S,
) => Promise<{ makeStore: (file: string) => SqliteStore } | { store: Store }>

function sweepTests(source: StoreSource) {
  async function setup(mode: 'ends' | 'waits' = 'ends') {
    let failing = false
    const { agent, announced, asked } = agentAsking(mode, (f) => {
      failing = f
    })
    // the store fails every answer to an approval while `failing` is set
    const failingWhenTold = <S extends Store>(opened: S): S => {
      const resolve = opened.resolveApproval.bind(opened)
      opened.resolveApproval = async (...args) => {
        if (failing) throw new Error('Connection terminated unexpectedly')
        return resolve(...args)
      }
      return opened
    }
    const { store, log, sessions, cwd } = await sessionsOnFakeAgent({
      dirPrefix: 'approval-sweep-',
      ...(await source(failingWhenTold)),
      open: agent,
      resume: (_id, hooks) => agent(hooks),
    })
    // the broker gives up at once (no retries): what stays pending is the sweep's
    const broker = new ApprovalBroker(store, log, 600_000, (id) => sessions.refreshStatus(id), undefined, {
      retryMs: [],
    })
    sessions.approvals = broker
    const stop = broker.watch(() => announced())
    const sweep = (now = Date.now()) =>
      sweepApprovals(
        {
          store,
          node: 'node_a',
          waitingHere: (id) => broker.isWaiting(id),
          collectAnswers: (pending, answeredBefore) => broker.collectAnswers(pending, answeredBefore),
          cancel: (id, by) => broker.cancelUnattended(id, by),
          refresh: (id) => sessions.refreshStatus(id),
          graceMs: 0,
        },
        now,
      )
    return { store, log, sessions, cwd, sweep, stop, asked }
  }

  it('hands a waiting agent the answer given on another node whose signal was lost', async () => {
    const { store, log, sessions, sweep, asked } = await setup('waits')
    try {
      const turn = await sessions.startTurn('ses_a', [{ type: 'text', text: 'build it' }])
      await asked
      const [pending] = await store.listApprovals({ state: 'pending' })
      // answered on node_b, whose signal to node_a (the session's owner, whose agent waits) is lost
      const lost: NodeSignals = { send: async () => {}, onMessage: () => {}, close: async () => {} }
      const other = new ApprovalBroker(store, log, 600_000, async () => {}, { node: 'node_b', signals: lost })
      await other.answer(pending!.id, 'accept', 'alice')
      expect(await sweep(Date.now() + 1000)).toEqual({ collected: 1, cancelled: 0, recomputed: 0 })
      expect(await sessions.waitTurn(turn.id)).toMatchObject({ status: 'completed', finalResponse: 'accept' })
      expect(await store.getSession('ses_a')).toMatchObject({ status: 'idle' })
    } finally {
      await sessions.closeAll()
    }
  })

  it('cancels an approval left pending after its turn ended, and the session is idle again', async () => {
    const { store, sessions, sweep, stop } = await setup()
    try {
      const turn = await sessions.startTurn('ses_a', [{ type: 'text', text: 'build it' }])
      expect(await sessions.waitTurn(turn.id)).toMatchObject({ status: 'interrupted' })
      stop()
      // what the stress saw: the turn over, its approval pending, the session waiting for it
      const [left] = await store.listApprovals({ state: 'pending' })
      expect(left).toMatchObject({ sessionId: 'ses_a', turnId: turn.id })
      expect(await store.getSession('ses_a')).toMatchObject({ status: 'waiting_for_approval' })
      const before = (await store.getSession('ses_a'))!.lastSeq
      expect(await sweep()).toEqual({ collected: 0, cancelled: 1, recomputed: 0 })
      expect(await store.getApproval(left!.id)).toMatchObject({
        state: 'resolved',
        decision: 'cancel',
        by: sweptBy,
      })
      expect(await store.getSession('ses_a')).toMatchObject({ status: 'idle' })
      const after = await store.eventsAfter('ses_a', before, 10)
      expect(after.map((e) => [e.type, 'status' in e ? e.status : 'by' in e ? e.by : ''])).toEqual([
        ['approval.resolved', sweptBy],
        ['session.status', 'idle'],
      ])
      // nothing more to do
      expect(await sweep()).toEqual({ collected: 0, cancelled: 0, recomputed: 0 })
    } finally {
      await sessions.closeAll()
    }
  })

  it('leaves alone what may still be answered; recomputes a state left waiting with nothing pending', async () => {
    const { store, sessions, cwd, sweep } = await setup()
    try {
      const now = Date.now()
      const at = (ms: number) => new Date(now + ms).toISOString()
      const approval = (
        id: string,
        sessionId: string,
        turnId: string | null,
        expiresIn: number,
      ): Approval => ({
        id,
        sessionId,
        turnId,
        ...ask,
        command: ask.command ?? null,
        cwd: ask.cwd ?? null,
        changes: null,
        reason: null,
        state: 'pending',
        decision: null,
        by: null,
        createdAt: at(-60_000),
        resolvedAt: null,
        expiresAt: at(expiresIn),
      })
      // its turn runs and its answer is not overdue: whoever asked may still get one
      await store.createTurn(
        newTurn('turn_running', 'ses_a', {
          status: 'running',
          createdAt: at(-60_000),
          startedAt: at(-60_000),
        }),
      )
      await store.createApproval(approval('apr_running', 'ses_a', 'turn_running', 60_000))
      // another node's session: that node sweeps it (or recovers it once it is dead)
      await store.createSession(newSession('ses_b', { cwd, agent: 'fake' }), 'node_b')
      await store.createApproval(approval('apr_other_node', 'ses_b', null, -60_000))
      // a session of this node left waiting for an approval that is no longer pending
      await store.createSession(newSession('ses_c', { cwd, agent: 'fake' }), 'node_a')
      await setStateAlone(store, 'ses_c', { status: 'waiting_for_approval', at: at(-60_000) })
      expect(await sweep(now)).toEqual({ collected: 0, cancelled: 0, recomputed: 1 })
      expect(await store.getSession('ses_c')).toMatchObject({ status: 'idle' })
      expect((await store.listApprovals({ state: 'pending' })).map((a) => a.id).sort()).toEqual([
        'apr_other_node',
        'apr_running',
      ])
      // the running turn's approval once its answer is overdue, and no agent here waits for it: cancelled
      expect(await sweep(now + 120_000)).toEqual({ collected: 0, cancelled: 1, recomputed: 0 })
      expect(await store.getApproval('apr_running')).toMatchObject({ by: sweptBy })
    } finally {
      await sessions.closeAll()
    }
  })
}

describe('the approval sweep (SQLite)', () => {
  cleanUpFakeAgentSessions()
  sweepTests(async (failing) => ({ makeStore: (file) => failing(new SqliteStore(file)) }))
})

describe('the approval sweep (PostgreSQL)', () => {
  const server = sharedPostgres()
  cleanUpFakeAgentSessions()
  sweepTests(async (failing) => ({ store: failing(await server.openStore()) }))
})
