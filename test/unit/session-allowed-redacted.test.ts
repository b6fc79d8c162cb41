import { describe, expect, it } from 'vitest'
import type { AgentSession, SessionHooks, TurnInput } from '../../src/agents/session.js'
import { Redactor } from '../../src/process/secrets.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { cleanUpFakeAgentSessions, sessionsOnFakeAgent } from '../support/fake-agent-sessions.js'

/**
 * What a session's `accept_for_session` answers allowed is stored redacted, as its events are: a rule whose command
 * holds a secret value the gateway knows is kept and shown with `[REDACTED]` (after a reopen it no longer matches,
 * so that command is asked again). The agent is a stand-in that hands the hook its rules as claude's session does.
 */
cleanUpFakeAgentSessions()

const hi: TurnInput = [{ type: 'text', text: 'hi' }]
const secret = 'sk-allowed-rule-secret-8c1d'

describe("a session's allowed rules", () => {
  it('are stored with the known secret values redacted', async () => {
    const rules = ['Bash(npm test)', `Bash(curl -H "authorization: Bearer ${secret}" http://127.0.0.1/)`]
    const open = (hooks: SessionHooks) =>
      ({
        async *turn() {
          yield { type: 'turn.started', turnId: 'agent-turn' }
          await hooks.allowedForSession?.(rules)
          yield { type: 'turn.completed', turnId: 'agent-turn', status: 'completed', usage: null }
        },
        close: async () => {},
      }) as unknown as AgentSession
    const { store, sessions } = await sessionsOnFakeAgent({
      dirPrefix: 'session-allowed-redacted-',
      makeStore: (file) => new SqliteStore(file),
      redactor: new Redactor([secret]),
      open,
      resume: (_id, hooks) => open(hooks),
    })
    expect(await sessions.waitTurn((await sessions.startTurn('ses_a', hi)).id)).toMatchObject({
      status: 'completed',
    })
    expect((await store.getSession('ses_a'))?.allowedForSession).toEqual([
      'Bash(npm test)',
      'Bash(curl -H "authorization: Bearer [REDACTED]" http://127.0.0.1/)',
    ])
  })
})
