import { describe, expect, it } from 'vitest'
import type { AgentSession } from '../../src/agents/session.js'
import { ApprovalBroker } from '../../src/core/approvals.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'

/**
 * A turn's `turn.completed` says why (`error`, as its stored turn does) when the gateway ended it rather than its
 * agent: a queued turn of a session archived. A turn its agent ended carries no error. (A turn ended by force:
 * turn-force-end.test.ts and session-turn-ignores-interrupt.test.ts.)
 */
cleanUpFakeAgentSessions()

/** An agent session whose turn runs until its signal aborts, then ends interrupted (as codex confirms). */
const stopsOnAbort = () =>
  ({
    agentSessionId: 'agent-session',
    async *turn(_input: unknown, signal: AbortSignal): AsyncGenerator<AgentEvent> {
      yield { type: 'turn.started', turnId: 'agent-turn' }
      await new Promise<void>((resolve) =>
        signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
      )
      yield { type: 'turn.completed', turnId: 'agent-turn', status: 'interrupted', usage: null }
    },
    async interrupt() {},
    async archive() {},
    async close() {},
  }) as unknown as AgentSession

describe('turn.completed of an interrupted turn', () => {
  it('a queued turn of a session archived says why; the running one its agent ended says nothing', async () => {
    const agent = stopsOnAbort()
    const { store, log, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'turn-end-event-error-',
      makeStore: (file) => new SqliteStore(file),
      open: () => agent,
      resume: () => agent,
    })
    sessions.approvals = new ApprovalBroker(store, log, 60_000, (id) => sessions.refreshStatus(id))
    const started = new Promise<void>((resolve) => log.tap((ev) => ev.type === 'turn.started' && resolve()))
    const running = await sessions.startTurn('ses_a', [{ type: 'text', text: 'one' }])
    await started
    const queued = await sessions.startTurn('ses_a', [{ type: 'text', text: 'two' }])
    await sessions.archive('ses_a')
    await log.drain()
    const ends = (await store.eventsAfter('ses_a', 0, 100)).filter(
      (e): e is StoredEvent & { type: 'turn.completed' } => e.type === 'turn.completed',
    )
    expect(ends.find((e) => e.turnId === queued.id)).toMatchObject({
      status: 'interrupted',
      error: 'session archived',
    })
    expect(await store.getTurn(queued.id)).toMatchObject({ status: 'interrupted', error: 'session archived' })
    const own = ends.find((e) => e.turnId === running.id)
    expect(own).toMatchObject({ status: 'interrupted' })
    expect(own).not.toHaveProperty('error')
    await sessions.idle()
  })
})
