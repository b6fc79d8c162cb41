import { describe, expect, it } from 'vitest'
import type { AgentSession } from '../../src/agents/session.js'
import type { EventLog } from '../../src/core/event-log.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'

/**
 * A session turn whose agent ignores the stop's abort is ended by force by the drain (SessionManager.forceEnd
 * through TurnQueue): its end recorded through the turn-end step fenced by the session's claim, its agent session
 * closed, and what its agent sends after that (once its close let it go) stored nowhere. A node that lost the
 * session meanwhile records nothing. session-turn-ignores-interrupt.test.ts drives a real agent over HTTP.
 */
cleanUpFakeAgentSessions()

/** An agent session whose turn starts, then ignores its signal until it is closed, and then ends as completed. */
function stubbornAgent() {
  let close!: () => void
  const closed = new Promise<void>((resolve) => {
    close = resolve
  })
  const late: AgentEvent[] = [
    { type: 'item.completed', item: { id: 'late', type: 'agent_message', text: 'too late' } },
    { type: 'turn.completed', turnId: 'agent-turn', status: 'completed', usage: null },
  ]
  const agent = {
    agentSessionId: 'agent-session',
    closes: 0,
    async *turn(): AsyncGenerator<AgentEvent> {
      yield { type: 'turn.started', turnId: 'agent-turn' }
      await closed
      yield* late
    },
    async interrupt() {},
    async close() {
      agent.closes++
      close()
    },
  }
  return agent
}

const stored = (log: EventLog, match: (ev: StoredEvent) => boolean) =>
  new Promise<void>((resolve) => log.tap((ev) => match(ev) && resolve()))

async function runningStubbornTurn() {
  const agent = stubbornAgent()
  const fx = await sessionsOnFakeAgent({
    dirPrefix: 'turn-force-end-',
    makeStore: (file) => new SqliteStore(file),
    open: () => agent as unknown as AgentSession,
    resume: () => agent as unknown as AgentSession,
  })
  const started = stored(fx.log, (ev) => ev.type === 'turn.started')
  const turn = await fx.sessions.startTurn('ses_a', [{ type: 'text', text: 'hang' }])
  await started
  return { ...fx, agent, turn }
}

describe("a session turn whose agent ignores the stop's abort", () => {
  it('is recorded interrupted by the drain, its agent closed, nothing of it stored after its end', async () => {
    const { store, log, sessions, active, agent, turn } = await runningStubbornTurn()
    const events: StoredEvent[] = []
    log.tap((ev) => events.push(ev))
    const ended = sessions.waitTurn(turn.id)
    await active.drain(0, 10)
    expect(await ended).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/server stop/) })
    await sessions.idle()
    await sessions.closeAll()
    expect(agent.closes).toBeGreaterThan(0)
    expect(sessions.isLoaded('ses_a')).toBe(false)
    await log.drain()
    expect(await store.getTurn(turn.id)).toMatchObject({ status: 'interrupted' })
    expect(await store.getSession('ses_a')).toMatchObject({ status: 'idle' })
    // the agent's late end (after its close let it go) is not stored: one end, the turn's forced one, then idle
    const all = await store.eventsAfter('ses_a', 0, 100)
    // its end event says why, as the stored turn does
    expect(all.filter((e) => e.type === 'turn.completed' || e.type === 'turn.failed')).toEqual([
      expect.objectContaining({
        type: 'turn.completed',
        turnId: turn.id,
        status: 'interrupted',
        error: expect.stringMatching(/did not stop the turn .* of the server stop/),
      }),
    ])
    expect(all.some((e) => e.type === 'item.completed')).toBe(false)
    expect(all.at(-1)).toMatchObject({ type: 'session.status', status: 'idle' })
  })

  it('records nothing on a node that lost the session meanwhile: the turn stays as the taker leaves it', async () => {
    const { store, sessions, active, agent, turn } = await runningStubbornTurn()
    const before = (await store.eventsAfter('ses_a', 0, 100)).length
    // node_b took the session over (node_a was taken for dead): node_a's claim is stale now
    await store.claimSession('ses_a', 'node_b')
    await active.drain(0, 10)
    await sessions.idle()
    expect(agent.closes).toBeGreaterThan(0)
    expect(sessions.isLoaded('ses_a')).toBe(false)
    expect(await store.getTurn(turn.id)).toMatchObject({ status: 'running' })
    expect(await store.eventsAfter('ses_a', 0, 100)).toHaveLength(before)
  })
})
