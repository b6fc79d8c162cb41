import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentRegistry } from '../../src/agents/registry.js'
import type { AgentSession } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { ActiveRuns } from '../../src/core/active-runs.js'
import { EventLog } from '../../src/core/event-log.js'
import { SessionManager } from '../../src/core/session-manager.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { removeDir, tempDir } from '../support/temp.js'

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
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) removeDir(d)
  })

  async function setup() {
    const store = await server.openStore()
    const dir = tempDir('reopen-no-turns-')
    dirs.push(dir)
    const config = loadConfig({ SESSION_IDLE_SECONDS: '0' }, dir)
    const cwd = path.join(config.workspaceRoots[0]!, 'project')
    fs.mkdirSync(cwd, { recursive: true })
    // node_b took the sessions of node_a (dead) over: they are its own now, never opened here
    await store.registerNode(nodeRecord('node_b'))
    await store.createSession(newSession('ses_new', { cwd, agent: 'fake', turnCount: 0 }), 'node_b')
    await store.createSession(newSession('ses_used', { cwd, agent: 'fake', turnCount: 2 }), 'node_b')
    // a fork with no turn of its own holds its parent's history: a new thread would lose it
    await store.createSession(
      newSession('ses_fork', { cwd, agent: 'fake', turnCount: 0, forkedFrom: 'ses_used' }),
      'node_b',
    )
    let opened = 0
    const driver = {
      id: 'fake',
      probe: async () => ({ installed: true, authenticated: true }),
      openSession: async () => agentNamed(`thread-fresh-${++opened}`),
      resumeSession: async (id: string) => {
        throw new Error(
          `codex app-server: thread/resume failed (-32600): no rollout found for thread id ${id}`,
        )
      },
    }
    const registry = { get: () => driver } as unknown as AgentRegistry
    const sessions = new SessionManager(
      store,
      new EventLog(store),
      registry,
      config,
      new ActiveRuns(),
      'node_b',
    )
    return { store, sessions }
  }

  it('one with no turn starts a new thread and runs its turn; one with turns, or a fork, answers the resume error', async () => {
    const { store, sessions } = await setup()
    try {
      const turn = await sessions.startTurn('ses_new', [{ type: 'text', text: 'hello' }])
      expect(await sessions.waitTurn(turn.id)).toMatchObject({ status: 'completed', finalResponse: 'ok' })
      expect(await store.getSession('ses_new')).toMatchObject({
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
