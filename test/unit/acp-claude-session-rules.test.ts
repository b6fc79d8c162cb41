import { describe, expect, it } from 'vitest'
import { claudeSessionRules, commandRule } from '../../src/agents/acp/claude-session-rules.js'
import { claudeCodeRules, exactCallRule } from '../../src/agents/exact-call-rule.js'
import type { ApprovalAsk, ApprovalDecision, SessionHooks } from '../../src/agents/session.js'

const command = (cmd: string): ApprovalAsk => ({
  kind: 'command',
  command: cmd,
  cwd: '/w',
  options: ['accept', 'accept_for_session', 'decline', 'cancel'],
})
const edit: ApprovalAsk = {
  kind: 'file_change',
  changes: [{ path: '/w/a.txt', kind: 'add' }],
  options: ['accept', 'accept_for_session', 'decline', 'cancel'],
}

/** Hooks that answer `decisions` in turn, recording what they were asked. */
function answering(...decisions: ApprovalDecision[]) {
  const asked: ApprovalAsk[] = []
  const hooks: SessionHooks = {
    requestApproval: async (ask) => {
      asked.push(ask)
      return decisions.shift() ?? 'decline'
    },
  }
  return { hooks, asked }
}

const signal = new AbortController().signal

describe('claude-agent-acp: what accept_for_session allowed (claude-session-rules.ts)', () => {
  it("is Claude Code's rule for the exact command, its parentheses and backslashes escaped", () => {
    expect(commandRule('npm test')).toBe('Bash(npm test)')
    expect(commandRule(`node -e "f('x')"`)).toBe(String.raw`Bash(node -e "f\('x'\)")`)
    expect(commandRule(String.raw`printf 'a\n'`)).toBe(String.raw`Bash(printf 'a\\n')`)
  })

  it('stores the rule before the agent hears the answer (allow_once), then accepts the same command unasked', async () => {
    const events: string[] = []
    const { hooks, asked } = answering('accept_for_session', 'accept')
    const rules = claudeSessionRules(hooks, async (all) => {
      await Promise.resolve()
      events.push(`stored ${all.join(' ')}`)
    })
    const decision = await rules.requestApproval(command('npm test'), signal)
    events.push(`answered ${decision}`)
    expect(events).toEqual(['stored Bash(npm test)', 'answered accept'])
    expect(await rules.requestApproval(command('npm test'), signal)).toBe('accept')
    expect(await rules.requestApproval(command('npm run build'), signal)).toBe('accept')
    expect(asked.map((a) => a.command)).toEqual(['npm test', 'npm run build'])
  })

  it('stores the whole set each time it grows; a reopened session starts with its rules', async () => {
    const stored: string[][] = []
    const store = async (all: readonly string[]) => {
      stored.push([...all])
    }
    const { hooks, asked } = answering('accept_for_session', 'accept_for_session')
    const rules = claudeSessionRules(hooks, store, ['Bash(ls)'])
    expect(await rules.requestApproval(command('ls'), signal)).toBe('accept')
    await rules.requestApproval(command('npm test'), signal)
    await rules.requestApproval(command('npm run lint'), signal)
    expect(asked).toHaveLength(2)
    expect(stored).toEqual([
      ['Bash(ls)', 'Bash(npm test)'],
      ['Bash(ls)', 'Bash(npm test)', 'Bash(npm run lint)'],
    ])
  })

  it("is the gateway's own rule for another exact tool call (keys sorted), never given to Claude Code", () => {
    expect(exactCallRule('WebSearch', { query: 'a b' })).toBe('gateway:WebSearch {"query":"a b"}')
    expect(exactCallRule('WebFetch', { url: 'https://x.test/p', prompt: 'p' })).toBe(
      exactCallRule('WebFetch', { prompt: 'p', url: 'https://x.test/p' }),
    )
    expect(exactCallRule('mcp__s__t', { b: [{ d: 1, c: null }], a: 'x' })).toBe(
      'gateway:mcp__s__t {"a":"x","b":[{"c":null,"d":1}]}',
    )
    expect(claudeCodeRules(['Bash(ls)', 'gateway:WebSearch {"query":"a"}', 'mcp__s__t'])).toEqual([
      'Bash(ls)',
      'mcp__s__t',
    ])
  })

  const search = (query: string, tool?: string): ApprovalAsk => ({
    kind: 'permission',
    reason: `Search "${query}"`,
    input: { query },
    ...(tool ? { tool } : {}),
    options: ['accept', 'accept_for_session', 'decline', 'cancel'],
  })

  it("answers a named tool's permission allow_once, stores the exact call's rule, and a reopened session accepts it unasked", async () => {
    const stored: string[][] = []
    const store = async (all: readonly string[]) => {
      stored.push([...all])
    }
    const { hooks, asked } = answering('accept_for_session', 'accept', 'accept')
    const rules = claudeSessionRules(hooks, store, ['Bash(ls)'])
    expect(await rules.requestApproval(search('a', 'WebSearch'), signal)).toBe('accept')
    expect(await rules.requestApproval(search('a', 'WebSearch'), signal)).toBe('accept')
    expect(stored).toEqual([['Bash(ls)', 'gateway:WebSearch {"query":"a"}']])
    const reopened = claudeSessionRules(hooks, store, stored[0])
    expect(await reopened.requestApproval(search('a', 'WebSearch'), signal)).toBe('accept')
    expect(await reopened.requestApproval(search('b', 'WebSearch'), signal)).toBe('accept')
    // the same input of another tool is another call
    expect(await reopened.requestApproval(search('a', 'WebFetch'), signal)).toBe('accept')
    expect(asked.map((a) => [a.tool, a.input])).toEqual([
      ['WebSearch', { query: 'a' }],
      ['WebSearch', { query: 'b' }],
      ['WebFetch', { query: 'a' }],
    ])
  })

  it("answers an unnamed tool's permission allow_once and accepts the same call (title and input) again in this process, storing nothing", async () => {
    const stored: string[][] = []
    const { hooks, asked } = answering('accept_for_session', 'accept')
    const rules = claudeSessionRules(hooks, async (all) => {
      stored.push([...all])
    })
    expect(await rules.requestApproval(search('a'), signal)).toBe('accept')
    expect(await rules.requestApproval(search('a'), signal)).toBe('accept')
    expect(await rules.requestApproval(search('b'), signal)).toBe('accept')
    expect(asked.map((a) => a.input)).toEqual([{ query: 'a' }, { query: 'b' }])
    expect(stored).toEqual([])
  })

  it("leaves other answers and a file change's accept_for_session to the agent; a failed store keeps the rule here", async () => {
    const { hooks } = answering('accept_for_session', 'decline', 'accept_for_session')
    const rules = claudeSessionRules(hooks, async () => {
      throw new Error('taken over')
    })
    expect(await rules.requestApproval(edit, signal)).toBe('accept_for_session')
    expect(await rules.requestApproval(command('make'), signal)).toBe('decline')
    expect(await rules.requestApproval(command('make'), signal)).toBe('accept')
    expect(await rules.requestApproval(command('make'), signal)).toBe('accept')
  })
})
