import { describe, expect, it } from 'vitest'
import { EscalatedCalls } from '../../src/agents/codex-app-server/escalated-calls.js'

const call = (callId: string, args: unknown) => ({
  threadId: 't',
  turnId: 'u',
  item: {
    type: 'function_call',
    name: 'exec_command',
    call_id: callId,
    arguments: typeof args === 'string' ? args : JSON.stringify(args),
  },
})

describe('EscalatedCalls', () => {
  it("tells the model's calls that ask for more than the sandbox from the others", () => {
    const calls = new EscalatedCalls()
    calls.saw(call('a', { cmd: 'ls' }))
    calls.saw(call('b', { cmd: 'ls', sandbox_permissions: 'use_default' }))
    calls.saw(call('c', { cmd: 'rm x', sandbox_permissions: 'require_escalated', justification: 'please' }))
    calls.saw(call('d', { cmd: 'cat /x', sandbox_permissions: 'with_additional_permissions' }))
    calls.saw(call('e', '{not json'))
    calls.saw({ threadId: 't', turnId: 'u', item: { type: 'message', role: 'assistant', content: [] } })
    expect(['a', 'b', 'c', 'd', 'e', 'f', undefined].map((id) => calls.of(id))).toEqual([
      'sandboxed',
      'sandboxed',
      'escalated',
      'escalated',
      'escalated',
      'unknown',
      'unknown',
    ])
    calls.clear()
    expect(calls.of('c')).toBe('unknown')
  })
})
