import { describe, expect, it } from 'vitest'
import type { ApprovalAsk, ApprovalDecision, SessionHooks } from '../../src/agents/session.js'
import { ApprovalBroker } from '../../src/core/approvals.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'
import { sharedPostgres } from '../support/shared-postgres.js'

/**
 * An approval the agent asks once its own turn is over, before the gateway stored that turn's end: codex has no
 * turn running then, so the signal it hands the request never aborts, while the gateway still counts the turn as
 * running (it names the approval's turn). The approval waited for APPROVAL_TIMEOUT_SECONDS (300 s by default),
 * its session `waiting_for_approval` all that time with no turn: now the gateway's own end of the turn cancels it.
 */

const ask: ApprovalAsk = {
  kind: 'command',
  command: 'make',
  cwd: '/w',
  options: ['accept', 'decline', 'cancel'],
}

/** An agent whose turn ends, then asks an approval with a signal nothing aborts (codex with no turn of its own). */
function agentAskingAfterItsTurn() {
  let asked!: (decision: Promise<ApprovalDecision>) => void
  const decision = new Promise<Promise<ApprovalDecision>>((resolve) => (asked = resolve))
  const agent = (hooks: SessionHooks) =>
    ({
      async *turn() {
        yield { type: 'turn.started', turnId: 'agent-turn-1' }
        yield { type: 'turn.completed', turnId: 'agent-turn-1', status: 'interrupted', usage: null }
        // the turn is over for the agent; the gateway has not stored its end yet
        asked(hooks.requestApproval(ask, new AbortController().signal))
      },
      close: async () => {},
    }) as never
  return { agent, decision }
}

function tests(source: () => Promise<{ makeStore: (file: string) => SqliteStore } | { store: Store }>) {
  it("is cancelled by the turn's end, and the session is idle", async () => {
    const { agent, decision } = agentAskingAfterItsTurn()
    const { store, log, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'approval-after-end-',
      ...(await source()),
      open: agent,
      resume: (_id, hooks) => agent(hooks),
    })
    // a timeout far beyond the test's: only the turn's end can answer it in time
    sessions.approvals = new ApprovalBroker(store, log, 600_000, (id) => sessions.refreshStatus(id))
    // resolves at the next session.status stored
    let statusStored: (() => void) | undefined
    log.tap((ev) => {
      if (ev.type === 'session.status') statusStored?.()
    })
    const untilIdle = async () => {
      for (;;) {
        const next = new Promise<void>((resolve) => (statusStored = resolve))
        if ((await store.getSession('ses_a'))?.status === 'idle') return
        await next
      }
    }
    try {
      const turn = await sessions.startTurn('ses_a', [{ type: 'text', text: 'build it' }])
      expect(await sessions.waitTurn(turn.id)).toMatchObject({ status: 'interrupted' })
      expect(await await decision).toBe('cancel')
      // recorded cancelled (or, when the turn's end came before its request was stored, never announced)
      expect(await store.listApprovals({ sessionId: 'ses_a', state: 'pending' })).toEqual([])
      for (const approval of await store.listApprovals({ sessionId: 'ses_a' }))
        expect(approval).toMatchObject({ turnId: turn.id, decision: 'cancel', by: 'turn_ended' })
      await untilIdle()
    } finally {
      await sessions.closeAll()
    }
  })
}

describe('an approval asked after its turn ended in the agent (SQLite)', () => {
  cleanUpFakeAgentSessions()
  tests(async () => ({ makeStore: (file) => new SqliteStore(file) }))
})

describe('an approval asked after its turn ended in the agent (PostgreSQL)', () => {
  const server = sharedPostgres()
  cleanUpFakeAgentSessions()
  tests(async () => ({ store: await server.openStore() }))
})
