import { describe, expect, it } from 'vitest'
import type { AgentSession } from '../../src/agents/session.js'
import { newSession } from '../contract/store-contract.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'
import { sharedPostgres } from '../support/shared-postgres.js'

/**
 * A session that never ran a turn, reopened on another node after its own died (SIGKILL): codex writes a thread to
 * disk at its first turn, so there was nothing to resume ("no rollout found for thread id …") and every later use
 * of the session answered 400, its archive too. Found by the lifecycle stress (`--nodes 2 --kill-at N`). Such a
 * session now starts a new thread (no history is lost) and stores its new id; one with turns, or a fork (its
 * parent's history), still answers the resume's error.
 */

const agentNamed = (agentSessionId: string) =>
  ({
    agentSessionId,
    async *turn() {
      yield { type: 'turn.started', turnId: 'agent-turn-1' }
      yield { type: 'item.completed', item: { id: 'm1', type: 'agent_message', text: 'ok' } }
      yield { type: 'turn.completed', turnId: 'agent-turn-1', status: 'completed', usage: null }
    },
    close: async () => {},
  }) as unknown as AgentSession

describe('reopening a session whose thread is gone (PostgreSQL)', () => {
  const server = sharedPostgres()
  cleanUpFakeAgentSessions()

  /** Sessions this node holds and never opened here (taken over from a dead node): ses_a with no turn. */
  async function setup() {
    let opened = 0
    const { store, sessions, cwd } = await sessionsOnFakeAgent({
      dirPrefix: 'reopen-no-turns-',
      store: await server.openStore(),
      open: () => agentNamed(`thread-fresh-${++opened}`),
      resume: (id) => {
        throw new Error(
          `codex app-server: thread/resume failed (-32600): no rollout found for thread id ${id}`,
        )
      },
    })
    await store.createSession(newSession('ses_used', { cwd, agent: 'fake', turnCount: 2 }), 'node_a')
    // a fork with no turn of its own holds its parent's history: a new thread would lose it
    await store.createSession(
      newSession('ses_fork', { cwd, agent: 'fake', turnCount: 0, forkedFrom: 'ses_used' }),
      'node_a',
    )
    return { store, sessions }
  }

  it('one with no turn starts a new thread and runs its turn; one with turns, or a fork, answers the resume error', async () => {
    const { store, sessions } = await setup()
    try {
      const turn = await sessions.startTurn('ses_a', [{ type: 'text', text: 'hello' }])
      expect(await sessions.waitTurn(turn.id)).toMatchObject({ status: 'completed', finalResponse: 'ok' })
      expect(await store.getSession('ses_a')).toMatchObject({
        agentSessionId: 'thread-fresh-1',
        turnCount: 1,
      })
      await expect(sessions.startTurn('ses_used', [{ type: 'text', text: 'hello' }])).rejects.toThrow(
        /no rollout found for thread id thread-ses_used/,
      )
      expect(await store.getSession('ses_used')).toMatchObject({ agentSessionId: 'thread-ses_used' })
      await expect(sessions.startTurn('ses_fork', [{ type: 'text', text: 'hello' }])).rejects.toThrow(
        /no rollout found for thread id thread-ses_fork/,
      )
      expect(await store.getSession('ses_fork')).toMatchObject({ agentSessionId: 'thread-ses_fork' })
      await sessions.idle()
    } finally {
      await sessions.closeAll()
    }
  })
})
