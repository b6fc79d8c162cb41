import { describe, expect, it } from 'vitest'
import type { AgentSession } from '../../src/agents/session.js'
import { ApprovalBroker } from '../../src/core/approvals.js'
import { SessionNotices } from '../../src/core/ops/session-notices.js'
import type { Session } from '../../src/protocol/sessions.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'

/**
 * An archive whose agent session is held here but whose own archive fails (codex's `thread/archive` answered
 * with an error, the agent process gone meanwhile): the gateway's record is archived all the same, saying the
 * agent's error, and the agent session is closed anyway (nothing of it left running, none held). The agent is a
 * stand-in (no agent here fails its archive on demand); the store, the manager and the log are real.
 * (An agent that cannot start at all: test/integration/session-archive-agent-unreachable.test.ts.)
 */
cleanUpFakeAgentSessions()

/** A store that keeps what it holds of the session right after its archived state is stored (its step's end). */
class SnapshotAtArchive extends SqliteStore {
  atArchive: Session | undefined

  override async setSessionStateWithEvents(
    ...args: Parameters<SqliteStore['setSessionStateWithEvents']>
  ): ReturnType<SqliteStore['setSessionStateWithEvents']> {
    const [id, change] = args
    const done = await super.setSessionStateWithEvents(...args)
    if (done.stored && change.status === 'archived') this.atArchive = await this.getSession(id)
    return done
  }
}

describe('an archive whose agent fails to archive its own record', () => {
  it('archives the session in the gateway, says why, closes the agent session', async () => {
    let closed = 0
    const agent = {
      agentSessionId: 'agent-session',
      async interrupt() {},
      async archive() {
        throw new Error('thread/archive failed: no such thread')
      },
      async close() {
        closed++
      },
    } as unknown as AgentSession
    const { store, log, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'session-archive-agent-fails-',
      makeStore: (file) => new SnapshotAtArchive(file),
      open: () => agent,
      resume: () => agent,
    })
    sessions.approvals = new ApprovalBroker(store, log, 60_000, (id) => sessions.refreshStatus(id))
    const notices = new SessionNotices()
    const warned: Record<string, unknown>[] = []
    notices.attach({ warn: (obj) => void warned.push(obj), error: () => {} })
    sessions.notices = notices

    const archived = await sessions.archive('ses_a')
    const why = 'thread/archive failed: no such thread'
    expect(archived).toMatchObject({ status: 'archived', agentArchiveError: why })
    expect(closed).toBe(1)
    expect(sessions.isBusy('ses_a')).toBe(false)
    await log.drain()
    const events = await store.eventsAfter('ses_a', 0, 100)
    expect(events.at(-1)).toMatchObject({
      type: 'session.status',
      status: 'archived',
      agentArchiveError: why,
    })
    expect(warned).toEqual([{ sessionId: 'ses_a', agent: 'fake', err: why }])
    expect(notices.agentArchivesFailed).toBe(1)
    // stored in the archived state's own step: a crash right after it leaves the error with it
    expect(store.atArchive).toMatchObject({ status: 'archived', agentArchiveError: why })
  })
})
