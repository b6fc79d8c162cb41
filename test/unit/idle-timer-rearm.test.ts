import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AgentSession, TurnInput } from '../../src/agents/session.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'

/**
 * SESSION_IDLE_SECONDS: a session with no turn for that long is unloaded (its agent closed). The session's one
 * idle timer is re-armed after each turn, not made again, and runs on through a turn (it does nothing while one
 * runs). Timers are vitest's fake ones (setTimeout and clearTimeout only), moved on by hand.
 */

const idleSeconds = 7
const idleMs = idleSeconds * 1000
const hi: TurnInput = [{ type: 'text', text: 'hi' }]

cleanUpFakeAgentSessions()
// the spy first: it wraps the fake setTimeout, and restored after the real timers it would put the fake one back
// on globalThis for every later file of a worker that shares its modules (vitest.config.ts)
afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

/** A session agent whose turns end when `release` is called (at once when `held` is false); counts its closes. */
function agent() {
  let release = () => {}
  const state = { held: false, closes: 0 }
  const session = {
    async *turn() {
      yield { type: 'turn.started', turnId: 'agent-turn' }
      if (state.held) await new Promise<void>((resolve) => (release = resolve))
      yield { type: 'item.completed', item: { id: 'm', type: 'agent_message', text: 'ok' } }
      yield { type: 'turn.completed', turnId: 'agent-turn', status: 'completed', usage: null }
    },
    close: async () => {
      state.closes++
    },
  } as unknown as AgentSession
  return { session, state, release: () => release() }
}

async function setup() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  const armed = vi.spyOn(globalThis, 'setTimeout')
  const fake = agent()
  const { sessions } = await sessionsOnFakeAgent({
    dirPrefix: 'idle-timer-',
    makeStore: (file) => new SqliteStore(file),
    idleSeconds,
    open: () => fake.session,
    resume: () => fake.session,
  })
  const turn = async () => {
    const t = await sessions.waitTurn((await sessions.startTurn('ses_a', hi)).id)
    await sessions.idle()
    return t
  }
  /** The idle timers made so far (setTimeout calls for SESSION_IDLE_SECONDS). */
  const idleTimersMade = () => armed.mock.calls.filter((call) => call[1] === idleMs).length
  return { sessions, fake, turn, idleTimersMade }
}

describe('the idle timer of a session', () => {
  it('is made once and re-armed after each turn: the session is unloaded a full idle time after its last turn', async () => {
    const { sessions, fake, turn, idleTimersMade } = await setup()
    for (let i = 0; i < 3; i++) {
      expect(await turn()).toMatchObject({ status: 'completed' })
      await vi.advanceTimersByTimeAsync(idleMs - 1000)
      expect(sessions.isLoaded('ses_a')).toBe(true)
    }
    expect(idleTimersMade()).toBe(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(sessions.isLoaded('ses_a')).toBe(false)
    expect(fake.state.closes).toBe(1)
  })

  it('fires during a long turn and does nothing; re-armed after it, it unloads the session', async () => {
    const { sessions, fake, turn, idleTimersMade } = await setup()
    expect(await turn()).toMatchObject({ status: 'completed' })
    fake.state.held = true
    const started = await sessions.startTurn('ses_a', hi)
    // twice the idle time inside the turn: the timer fired, the session stays
    await vi.advanceTimersByTimeAsync(2 * idleMs)
    expect(sessions.isLoaded('ses_a')).toBe(true)
    expect(fake.state.closes).toBe(0)
    fake.release()
    expect(await sessions.waitTurn(started.id)).toMatchObject({ status: 'completed' })
    await sessions.idle()
    await vi.advanceTimersByTimeAsync(idleMs - 1)
    expect(sessions.isLoaded('ses_a')).toBe(true)
    await vi.advanceTimersByTimeAsync(1)
    expect(sessions.isLoaded('ses_a')).toBe(false)
    expect(fake.state.closes).toBe(1)
    expect(idleTimersMade()).toBe(1)
  })
})
