import { describe, expect, it } from 'vitest'
import type { PermissionRule } from '../../src/agents/claude/permission-prompts.js'
import { ClaudeSession, type ClaudeTurnRunner, type TurnApprovals } from '../../src/agents/claude/session.js'
import type { SessionHooks } from '../../src/agents/session.js'
import type { AgentEvent } from '../../src/protocol/events.js'

/** A runner whose every turn answers `accept_for_session` with `rules` (if any), recording what it was allowed. */
function runner(rules: PermissionRule[][] = []) {
  const allowedTools: string[][] = []
  const turns: ClaudeTurnRunner = {
    async *runTurn(_prompt, _req, _thread, _signal, approvals?: TurnApprovals): AsyncGenerator<AgentEvent> {
      yield { type: 'run.started', agent: 'claude' }
      allowedTools.push(approvals?.allowedTools ?? [])
      const next = rules.shift()
      if (next) await approvals?.remember(next)
      yield { type: 'run.completed', status: 'succeeded', exitCode: 0 } as AgentEvent
    },
  }
  return { turns, allowedTools }
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
    const r = runner([
      [{ toolName: 'Bash', ruleContent: 'npm test' }],
      [{ toolName: 'Bash', ruleContent: 'ls' }],
    ])
    const s = new ClaudeSession(r.turns, req, { id: 'c1', exists: false }, hooks(stored))
    await turn(s)
    await turn(s)
    await turn(s)
    expect(stored).toEqual([['Bash(npm test)'], ['Bash(npm test)', 'Bash(ls)']])
    expect(r.allowedTools).toEqual([[], ['Bash(npm test)'], ['Bash(npm test)', 'Bash(ls)']])
  })

  it('a reopened session starts with what it allowed before; a rule allowed again is not stored again', async () => {
    const stored: string[][] = []
    const r = runner([[{ toolName: 'Bash', ruleContent: 'npm test' }]])
    const state = { id: 'c1', exists: true, allowed: ['Bash(npm test)'] }
    const s = new ClaudeSession(r.turns, req, state, hooks(stored))
    await turn(s)
    expect(r.allowedTools).toEqual([['Bash(npm test)']])
    expect(stored).toEqual([])
  })

  it('a fork starts without them; a store that fails keeps them in this process', async () => {
    const r = runner([[{ toolName: 'Bash', ruleContent: 'npm test' }]])
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
})
