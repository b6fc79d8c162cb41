import { describe, expect, it } from 'vitest'
import type { AgentSession, TurnInput } from '../../src/agents/session.js'
import { ApprovalBroker } from '../../src/core/approvals.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'
import { sharedPostgres } from '../support/shared-postgres.js'

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
  cleanUpFakeAgentSessions()

  it('is refused with 409; nothing is stored after `archived`', async () => {
    const { agent, asked, archived, finish } = slowArchiveAgent()
    const { store, log, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'archive-turn-',
      store: await server.openStore(),
      open: () => agent,
      resume: () => agent,
      // one turn before: a fork has a thread to copy
      sessionFields: { turnCount: 1 },
    })
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
