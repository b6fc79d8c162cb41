import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentRegistry } from '../../src/agents/registry.js'
import type { AgentSession, TurnInput } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { ActiveRuns } from '../../src/core/active-runs.js'
import { EventLog } from '../../src/core/event-log.js'
import { SessionManager } from '../../src/core/session-manager.js'
import type { Turn } from '../../src/protocol/sessions.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * A turn that starts at once goes to its agent before its row is stored (SessionManager.startTurn); a steer that
 * reaches the agent in between used to answer with that turn at once, before it was stored: a client reading the
 * turn then (GET on any node, or `?wait=true` on a node that does not own the session, which reads the store) got
 * 404 `no turn …`. Found by the lifecycle stress on two nodes sharing PostgreSQL, where the row's commit takes a
 * while. The row's store is held here by a lock on the turns table that lets reads through.
 */

/** A session agent whose turn starts and then waits for `finish()`; a steer is accepted at once. */
function heldAgent() {
  let started!: () => void
  let steered!: () => void
  let finish!: () => void
  const turnStarted = new Promise<void>((r) => (started = r))
  const steerCalled = new Promise<void>((r) => (steered = r))
  const finished = new Promise<void>((r) => (finish = r))
  const agent = {
    async *turn(_input: TurnInput, signal: AbortSignal) {
      started()
      await Promise.race([finished, new Promise((r) => signal.addEventListener('abort', r, { once: true }))])
      yield { type: 'turn.started', turnId: 'agent-turn-1' }
      yield { type: 'item.completed', item: { id: 'm1', type: 'agent_message', text: 'ok' } }
      yield { type: 'turn.completed', turnId: 'agent-turn-1', status: 'completed', usage: null }
    },
    async steer() {
      steered()
    },
    close: async () => {},
  } as unknown as AgentSession
  return { agent, turnStarted, steerCalled, finish }
}

const input = (text: string): TurnInput => [{ type: 'text', text }]

describe('onBusy: steer into a turn whose row is not stored yet (PostgreSQL)', () => {
  const server = sharedPostgres()
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) removeDir(d)
  })

  it('answers once the turn it names is stored, never before', async () => {
    const url = await server.createDatabase()
    const store = await server.openStore(url)
    const dir = tempDir('steer-unstored-')
    dirs.push(dir)
    const config = loadConfig({ SESSION_IDLE_SECONDS: '0' }, dir)
    const cwd = path.join(config.workspaceRoots[0]!, 'project')
    fs.mkdirSync(cwd, { recursive: true })
    await store.registerNode(nodeRecord('node_a'))
    await store.createSession(newSession('ses_a', { cwd, agent: 'fake' }), 'node_a')
    const { agent, turnStarted, steerCalled, finish } = heldAgent()
    const driver = {
      id: 'fake',
      probe: async () => ({ installed: true, authenticated: true }),
      openSession: async () => agent,
      resumeSession: async () => agent,
    }
    const registry = { get: () => driver } as unknown as AgentRegistry
    const sessions = new SessionManager(
      store,
      new EventLog(store),
      registry,
      config,
      new ActiveRuns(),
      'node_a',
    )
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      // open in its agent first, then hold every insert into turns (reads go on)
      await sessions.resume('ses_a')
      await admin.query('BEGIN')
      await admin.query('LOCK TABLE turns IN EXCLUSIVE MODE')
      let locked = true
      const first = sessions.startTurn('ses_a', input('one'))
      first.catch(() => {})
      await turnStarted
      let answeredWhileLocked: boolean | undefined
      const steer = sessions.startTurn('ses_a', input('also this'), 'steer').then((t: Turn) => {
        answeredWhileLocked = locked
        return t
      })
      await steerCalled
      // what follows the agent's acceptance in startTurn takes no I/O: it has answered by the next macrotask,
      // unless it waits for the row
      await new Promise((r) => setImmediate(r))
      locked = false
      await admin.query('COMMIT')
      const [started, steered] = await Promise.all([first, steer])
      expect(steered.id).toBe(started.id)
      expect(answeredWhileLocked).toBe(false)
      expect(await store.getTurn(steered.id)).toMatchObject({ id: steered.id })
      finish()
      expect(await sessions.waitTurn(started.id)).toMatchObject({ status: 'completed' })
      await sessions.idle()
    } finally {
      finish()
      await admin.end()
      await sessions.closeAll()
    }
  })
})
