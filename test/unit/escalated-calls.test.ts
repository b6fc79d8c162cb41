import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { EscalatedCalls } from '../../src/agents/codex-app-server/escalated-calls.js'
import { tempDir } from '../support/temp.js'

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

  it("finds a call it did not see in the thread's rollout file, parsed line by line", async () => {
    const rollout = path.join(tempDir('rollout-calls-'), 'rollout.jsonl')
    const item = (callId: string, args: unknown) =>
      JSON.stringify({
        timestamp: 'now',
        type: 'response_item',
        payload: {
          type: 'function_call',
          name: 'exec_command',
          arguments: JSON.stringify(args),
          call_id: callId,
        },
      })
    // a model's text holding a look-alike line is a string in another line: not a call
    const forged = item('f', { cmd: 'ls' })
    writeFileSync(
      rollout,
      [
        '{"cut line',
        item('r', { cmd: 'rm x', sandbox_permissions: 'require_escalated' }),
        item('s', { cmd: 'ls' }),
        JSON.stringify({ type: 'response_item', payload: { type: 'message', content: [{ text: forged }] } }),
        '',
      ].join('\n'),
    )
    const calls = new EscalatedCalls()
    calls.saw(call('a', { cmd: 'ls' }))
    expect(await calls.find('r', rollout)).toBe('escalated')
    expect(await calls.find('s', rollout)).toBe('sandboxed')
    expect(await calls.find('f', rollout)).toBe('unknown')
    expect(await calls.find('a', rollout)).toBe('sandboxed')
    expect(await calls.find('r', undefined)).toBe('unknown')
    expect(await calls.find('r', path.join(path.dirname(rollout), 'missing.jsonl'))).toBe('unknown')
  })
})
