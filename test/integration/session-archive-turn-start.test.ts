import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentRegistry } from '../../src/agents/registry.js'
import type { AgentSession, TurnInput } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { ActiveRuns } from '../../src/core/active-runs.js'
import { ApprovalBroker } from '../../src/core/approvals.js'
import { EventLog } from '../../src/core/event-log.js'
import { SessionManager } from '../../src/core/session-manager.js'
import { newSession, nodeRecord } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * A turn sent, or a fork asked, while the session is being archived (its agent archiving the thread): the turn used
 * to start on the session still held, and its events and end were stored after `session.status: archived`, where
 * no stream delivers them (or, once the agent let go, it failed reopening the archived thread, its `turn.failed`
 * after `archived` too); the fork answered codex's 400 ("session is archived"). Both now answer 409 while the
 * archive runs. Found by the lifecycle stress on two nodes sharing PostgreSQL (a burst: a turn through one node,
 * an archive through the other).
 */

/** An agent whose archive waits for `archived()`, and whose turn, once started, waits for `finish()`. */
function slowArchiveAgent() {
  let archiveAsked!: () => void
  let archived!: () => void
  let finish!: () => void
  const asked = new Promise<void>((r) => (archiveAsked = r))
  const archiveDone = new Promise<void>((r) => (archived = r))
  const finished = new Promise<void>((r) => (finish = r))
  const agent = {
    async *turn(_input: TurnInput, signal: AbortSignal) {
      await Promise.race([finished, new Promise((r) => signal.addEventListener('abort', r, { once: true }))])
      yield { type: 'turn.started', turnId: 'agent-turn-1' }
      yield { type: 'turn.completed', turnId: 'agent-turn-1', status: 'completed', usage: null }
    },
    async archive() {
      archiveAsked()
      await archiveDone
    },
    close: async () => {},
  } as unknown as AgentSession
  return { agent, asked, archived, finish }
}

describe('a turn or a fork while the session is being archived (PostgreSQL)', () => {
  const server = sharedPostgres()
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) removeDir(d)
  })

  it('is refused with 409; nothing is stored after `archived`', async () => {
    const store = await server.openStore()
    const dir = tempDir('archive-turn-')
    dirs.push(dir)
    const config = loadConfig({ SESSION_IDLE_SECONDS: '0' }, dir)
    const cwd = path.join(config.workspaceRoots[0]!, 'project')
    fs.mkdirSync(cwd, { recursive: true })
    await store.registerNode(nodeRecord('node_a'))
    // one turn before: a fork has a thread to copy
    await store.createSession(newSession('ses_a', { cwd, agent: 'fake', turnCount: 1 }), 'node_a')
    const { agent, asked, archived, finish } = slowArchiveAgent()
    const driver = {
      id: 'fake',
      probe: async () => ({ installed: true, authenticated: true }),
      openSession: async () => agent,
      resumeSession: async () => agent,
    }
    const registry = { get: () => driver } as unknown as AgentRegistry
    const log = new EventLog(store)
    const sessions = new SessionManager(store, log, registry, config, new ActiveRuns(), 'node_a')
    sessions.approvals = new ApprovalBroker(store, log, 60_000, (id) => sessions.refreshStatus(id))
    try {
      const archiving = sessions.archive('ses_a')
      await asked
      const turn = sessions.startTurn('ses_a', [{ type: 'text', text: 'one more' }])
      turn.catch(() => {})
      const forked = await sessions.fork('ses_a').then(
        () => 'forked',
        (err: { code?: string; message: string }) => err.code ?? err.message,
      )
      // the archive ends; a turn that started meanwhile would end after it
      archived()
      expect(await archiving).toMatchObject({ status: 'archived' })
      finish()
      await expect(turn).rejects.toMatchObject({ code: 'conflict' })
      await sessions.idle()
      const events = await store.eventsAfter('ses_a', 0, 100)
      const at = events.findIndex((e) => e.type === 'session.status' && e.status === 'archived')
      expect(at).toBeGreaterThanOrEqual(0)
      expect(events.slice(at + 1).map((e) => e.type)).toEqual([])
      expect(await store.listTurns('ses_a')).toEqual([])
      expect(forked).toBe('conflict')
    } finally {
      archived()
      finish()
      await sessions.closeAll()
    }
  })
})
