import { describe, expect, it } from 'vitest'
import { ClaudeSession, type ClaudeTurnRunner, type TurnApprovals } from '../../src/agents/claude/session.js'
import type { SessionHooks } from '../../src/agents/session.js'
import type { AgentEvent } from '../../src/protocol/events.js'

/** A runner whose every turn answers `accept_for_session` with `rules` (if any), recording what it was allowed. */
function runner(rules: string[][] = [], probe = '') {
  const allowedTools: string[][] = []
  /** Per turn: whether `probe` was allowed as the turn started. */
  const allows: boolean[] = []
  const turns: ClaudeTurnRunner = {
    async *runTurn(_prompt, _req, _thread, _signal, approvals?: TurnApprovals): AsyncGenerator<AgentEvent> {
      yield { type: 'run.started', agent: 'claude' }
      allowedTools.push(approvals?.allowedTools ?? [])
      if (approvals) allows.push(approvals.allows(probe))
      const next = rules.shift()
      if (next) await approvals?.remember(next)
      yield { type: 'run.completed', status: 'succeeded', exitCode: 0 } as AgentEvent
    },
    copyConversation: async () => true,
    conversationBytes: async () => 0,
  }
  return { turns, allowedTools, allows }
}

function hooks(stored: string[][], store?: (rules: readonly string[]) => Promise<void>): SessionHooks {
  return {
    requestApproval: async () => 'accept',
    allowedForSession:
      store ??
      (async (rules) => {
        stored.push([...rules])
      }),
  }
}

const turn = async (s: ClaudeSession) => {
  for await (const _ of s.turn([{ type: 'text', text: 'go' }], new AbortController().signal)) {
  }
}
const req = { cwd: '/w', approvalPolicy: 'on-request' as const }

describe('claude sessions: what accept_for_session allowed', () => {
  it('is handed to the hooks whole, each time it grows, and allowed on the later turns', async () => {
    const stored: string[][] = []
    const r = runner([['Bash(npm test)'], ['Bash(ls)']])
    const s = new ClaudeSession(r.turns, req, { id: 'c1', exists: false }, hooks(stored))
    await turn(s)
    await turn(s)
    await turn(s)
    expect(stored).toEqual([['Bash(npm test)'], ['Bash(npm test)', 'Bash(ls)']])
    expect(r.allowedTools).toEqual([[], ['Bash(npm test)'], ['Bash(npm test)', 'Bash(ls)']])
  })

  it('a reopened session starts with what it allowed before; a rule allowed again is not stored again', async () => {
    const stored: string[][] = []
    const r = runner([['Bash(npm test)']])
    const state = { id: 'c1', exists: true, allowed: ['Bash(npm test)'] }
    const s = new ClaudeSession(r.turns, req, state, hooks(stored))
    await turn(s)
    expect(r.allowedTools).toEqual([['Bash(npm test)']])
    expect(stored).toEqual([])
  })

  it('a fork starts without them; a store that fails keeps them in this process', async () => {
    const r = runner([['Bash(npm test)']])
    const failing = hooks([], async () => {
      throw new Error('taken over')
    })
    const s = new ClaudeSession(r.turns, req, { id: 'c1', exists: true }, failing)
    await turn(s)
    await turn(s)
    expect(r.allowedTools[1]).toEqual(['Bash(npm test)'])
    const fork = (await s.fork(hooks([]))) as ClaudeSession
    await turn(fork)
    expect(r.allowedTools[2]).toEqual([])
  })

  it("the gateway's own rules (a WebFetch URL) are stored and allowed, never given to Claude Code", async () => {
    const stored: string[][] = []
    const url = 'gateway:WebFetch {"url":"http://127.0.0.1:1/a"}'
    const r = runner([[url], ['Bash(ls)']], url)
    const s = new ClaudeSession(r.turns, req, { id: 'c1', exists: false }, hooks(stored))
    await turn(s)
    await turn(s)
    await turn(s)
    expect(stored).toEqual([[url], [url, 'Bash(ls)']])
    expect(r.allowedTools).toEqual([[], [], ['Bash(ls)']])
    expect(r.allows).toEqual([false, true, true])
    // a domain rule stored before the gateway kept a fetch's URL is no longer given to Claude Code
    const reopened = runner([], url)
    const allowed = [url, 'WebFetch(domain:127.0.0.1)', 'Bash(ls)']
    await turn(new ClaudeSession(reopened.turns, req, { id: 'c1', exists: true, allowed }, hooks([])))
    expect(reopened.allowedTools).toEqual([['Bash(ls)']])
    expect(reopened.allows).toEqual([true])
  })
})
