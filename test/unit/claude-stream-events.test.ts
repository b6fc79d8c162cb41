import { describe, expect, it } from 'vitest'
import { claudeArgs } from '../../src/agents/claude/command.js'
import { permissionArgs, permissionEnv } from '../../src/agents/claude/permissions.js'
import { createClaudeMapper } from '../../src/agents/claude/stream-events.js'
import { agentEvent } from '../../src/protocol/events.js'

// Lines recorded from claude 2.1.330 (`-p --output-format stream-json --verbose --include-partial-messages`),
// shortened to the fields that matter.
const sid = 'e3d72d5b-68b8-478b-a3df-962f1f5adb7e'
const recorded = {
  init: {
    type: 'system',
    subtype: 'init',
    cwd: '/tmp/ws',
    session_id: sid,
    tools: ['Bash'],
    model: 'claude-x',
  },
  status: { type: 'system', subtype: 'status', status: 'requesting', session_id: sid },
  toolStart: {
    type: 'stream_event',
    event: {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'tool_use', id: 'toolu_5', name: 'Bash', input: {} },
    },
    session_id: sid,
    api_message_id: 'msg_5',
  },
  toolUse: {
    type: 'assistant',
    message: {
      id: 'msg_5',
      role: 'assistant',
      content: [
        {
          type: 'tool_use',
          id: 'toolu_5',
          name: 'Bash',
          input: { command: 'echo hi > proof.txt && echo wrote' },
        },
      ],
    },
    parent_tool_use_id: null,
    session_id: sid,
  },
  toolResult: {
    type: 'user',
    message: {
      role: 'user',
      content: [{ tool_use_id: 'toolu_5', type: 'tool_result', content: 'wrote', is_error: false }],
    },
    session_id: sid,
    tool_use_result: { stdout: 'wrote', stderr: '', interrupted: false },
  },
  textStart: {
    type: 'stream_event',
    event: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    api_message_id: 'msg_6',
  },
  delta1: {
    type: 'stream_event',
    event: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hello ' } },
    api_message_id: 'msg_6',
  },
  delta2: {
    type: 'stream_event',
    event: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'there' } },
    api_message_id: 'msg_6',
  },
  text: {
    type: 'assistant',
    message: { id: 'msg_6', role: 'assistant', content: [{ type: 'text', text: 'hello there' }] },
    session_id: sid,
  },
  stop: { type: 'stream_event', event: { type: 'message_stop' }, api_message_id: 'msg_6' },
  result: {
    type: 'result',
    subtype: 'success',
    is_error: false,
    result: 'hello there',
    session_id: sid,
    usage: {
      input_tokens: 20,
      cache_creation_input_tokens: 5,
      cache_read_input_tokens: 7,
      output_tokens: 10,
      output_tokens_details: { thinking_tokens: 2 },
    },
  },
}

const mapAll = (lines: unknown[]) => {
  const mapper = createClaudeMapper()
  const events = lines.flatMap((line) => mapper.map(typeof line === 'string' ? line : JSON.stringify(line)))
  for (const ev of events) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
  return { mapper, events }
}

describe('claude stream-json mapping', () => {
  it('maps a recorded tool run and text answer to normalized events', () => {
    const { mapper, events } = mapAll(Object.values(recorded))
    expect(events.map((e) => e.type)).toEqual([
      'agent.session',
      'turn.started',
      'agent.raw', // system status
      'item.started',
      'item.completed',
      'item.delta',
      'item.delta',
      'item.completed',
      'turn.completed',
    ])
    expect(events[0]).toEqual({ type: 'agent.session', agent: 'claude', agentSessionId: sid })
    expect(events[4]).toEqual({
      type: 'item.completed',
      item: {
        id: 'toolu_5',
        type: 'command_execution',
        command: 'echo hi > proof.txt && echo wrote',
        aggregatedOutput: 'wrote',
        exitCode: 0,
        status: 'completed',
      },
    })
    const message = events[7]
    if (message?.type !== 'item.completed') throw new Error('expected the agent message')
    expect(message.item).toMatchObject({ type: 'agent_message', text: 'hello there' })
    expect(events[5]).toEqual({ type: 'item.delta', itemId: message.item.id, delta: 'hello ' })
    expect(mapper.finalResponse()).toBe('hello there')
    expect(mapper.failure()).toBeNull()
    expect(mapper.sessionId()).toBe(sid)
    expect(mapper.usage()).toEqual({
      inputTokens: 32,
      cachedInputTokens: 7,
      outputTokens: 10,
      reasoningOutputTokens: 2,
    })
  })

  it('a failed command keeps its exit code; other tools are tool_call items', () => {
    const { events } = mapAll([
      {
        type: 'assistant',
        message: {
          id: 'm1',
          content: [
            { type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'exit 3' } },
            { type: 'tool_use', id: 't2', name: 'mcp__files__read', input: { path: 'a' } },
          ],
        },
      },
      {
        type: 'user',
        message: {
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: 'Exit code 3\noops\nbad', is_error: true },
            { type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: 'contents' }] },
          ],
        },
      },
    ])
    expect(
      events.filter((e) => e.type === 'item.completed').map((e) => e.type === 'item.completed' && e.item),
    ).toEqual([
      {
        id: 't1',
        type: 'command_execution',
        command: 'exit 3',
        aggregatedOutput: 'oops\nbad',
        exitCode: 3,
        status: 'failed',
      },
      {
        id: 't2',
        type: 'tool_call',
        server: 'files',
        tool: 'read',
        arguments: { path: 'a' },
        result: 'contents',
        status: 'completed',
      },
    ])
  })

  it('an API error result fails the turn with the agent words', () => {
    const { mapper, events } = mapAll([
      recorded.init,
      {
        type: 'assistant',
        message: {
          id: 'x',
          model: '<synthetic>',
          content: [{ type: 'text', text: 'API Error: 500 mock exploded' }],
        },
        error: 'unknown',
        is_api_error_message: true,
      },
      {
        type: 'result',
        subtype: 'success',
        is_error: true,
        result: 'API Error: 500 mock exploded',
        api_error_status: 500,
      },
    ])
    expect(events.at(-2)).toMatchObject({ type: 'item.completed', item: { type: 'error' } })
    expect(events.at(-1)).toEqual({ type: 'turn.failed', error: 'API Error: 500 mock exploded' })
    expect(mapper.failure()).toBe('API Error: 500 mock exploded')
    expect(mapper.finalResponse()).toBeNull()
  })

  it('unknown, malformed and unmatched lines become agent.raw, never a throw', () => {
    const { events } = mapAll([
      'not json at all',
      { type: 'brand_new_line', x: 1 },
      { type: 'assistant', message: 'not an object' },
      { type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 'unknown', content: 'x' }] } },
      { type: 'assistant', message: { id: 'm', content: [{ type: 'server_tool_use', id: 's' }] } },
      '',
    ])
    expect(events.map((e) => e.type)).toEqual([
      'agent.raw',
      'agent.raw',
      'agent.raw',
      'agent.raw',
      'agent.raw',
    ])
    expect(events[0]).toEqual({ type: 'agent.raw', agent: 'claude', payload: 'not json at all' })
  })
})

describe('claude argv and permissions', () => {
  it('maps each sandbox to a permission mode; IS_SANDBOX only for bypass as root', () => {
    expect(permissionArgs('read-only')).toEqual(['--permission-mode', 'dontAsk'])
    expect(permissionArgs('workspace-write')).toEqual(['--permission-mode', 'acceptEdits'])
    expect(permissionArgs('danger-full-access')).toEqual(['--permission-mode', 'bypassPermissions'])
    expect(permissionEnv('danger-full-access', 0)).toEqual({ IS_SANDBOX: '1' })
    expect(permissionEnv('danger-full-access', 1000)).toEqual({})
    expect(permissionEnv('workspace-write', 0)).toEqual({})
  })

  it('continues a session by id: --session-id, --resume, --resume --fork-session', () => {
    const base = { sandbox: 'read-only' as const }
    expect(claudeArgs({ ...base, thread: { kind: 'new', sessionId: 'a' } }).slice(-2)).toEqual([
      '--session-id',
      'a',
    ])
    expect(claudeArgs({ ...base, thread: { kind: 'resume', sessionId: 'a' } }).slice(-2)).toEqual([
      '--resume',
      'a',
    ])
    expect(claudeArgs({ ...base, model: 'sonnet' })).toEqual(expect.arrayContaining(['--model', 'sonnet']))
  })
})
