import type { PermissionOption } from '@agentclientprotocol/sdk'
import { describe, expect, it } from 'vitest'
import { parseAcpAgents } from '../../src/agents/acp/agent-spec.js'
import { permissionAnswer, permissionAsk, permissionOptions } from '../../src/agents/acp/permission.js'
import { mergeToolCall } from '../../src/agents/acp/tool-items.js'
import { UpdateMapper } from '../../src/agents/acp/update-mapper.js'
import { toolCallFields } from '../../src/agents/acp/wire.js'
import { agentEvent } from '../../src/protocol/events.js'

const mapAll = (updates: unknown[]) => {
  const m = new UpdateMapper('acp:test', 't1')
  const events = [...updates.flatMap((u) => m.map(u)), ...m.finish()]
  for (const ev of events) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
  return { m, events }
}
const chunk = (sessionUpdate: string, text: string) => ({ sessionUpdate, content: { type: 'text', text } })

describe('ACP session/update mapping', () => {
  it('message chunks: one agent_message item with deltas, completed at the end', () => {
    const { m, events } = mapAll([chunk('agent_message_chunk', 'hel'), chunk('agent_message_chunk', 'lo')])
    expect(events).toEqual([
      { type: 'item.started', item: { id: 't1-msg-1', type: 'agent_message', text: '' } },
      { type: 'item.delta', itemId: 't1-msg-1', delta: 'hel' },
      { type: 'item.delta', itemId: 't1-msg-1', delta: 'lo' },
      { type: 'item.completed', item: { id: 't1-msg-1', type: 'agent_message', text: 'hello' } },
    ])
    expect(m.finalResponse()).toBe('hello')
  })

  it('a thought is a reasoning item, closed when the message starts', () => {
    const { events } = mapAll([chunk('agent_thought_chunk', 'hmm'), chunk('agent_message_chunk', 'ok')])
    expect(
      events.filter((e) => e.type === 'item.completed').map((e) => e.type === 'item.completed' && e.item),
    ).toEqual([
      { id: 't1-reasoning-1', type: 'reasoning', text: 'hmm' },
      { id: 't1-msg-2', type: 'agent_message', text: 'ok' },
    ])
  })

  it('an execute tool call and its update: command_execution started, then completed with output', () => {
    const { events } = mapAll([
      {
        sessionUpdate: 'tool_call',
        toolCallId: 'c1',
        title: 'echo hi',
        kind: 'execute',
        status: 'in_progress',
        rawInput: { command: ['/bin/bash', '-lc', 'echo hi'] },
      },
      {
        sessionUpdate: 'tool_call_update',
        toolCallId: 'c1',
        status: 'completed',
        rawOutput: { aggregated_output: 'hi\n', exit_code: 0 },
      },
    ])
    expect(events).toEqual([
      {
        type: 'item.started',
        item: {
          id: 'c1',
          type: 'command_execution',
          command: 'echo hi',
          aggregatedOutput: '',
          exitCode: null,
          status: 'in_progress',
        },
      },
      {
        type: 'item.completed',
        item: {
          id: 'c1',
          type: 'command_execution',
          command: 'echo hi',
          aggregatedOutput: 'hi\n',
          exitCode: 0,
          status: 'completed',
        },
      },
    ])
  })

  it('an edit with diffs is a file_change (new file: add, else update); failed maps to failed', () => {
    const { events } = mapAll([
      {
        sessionUpdate: 'tool_call',
        toolCallId: 'e1',
        title: 'Write',
        kind: 'edit',
        status: 'pending',
        content: [
          { type: 'diff', path: '/w/new.txt', newText: 'x' },
          { type: 'diff', path: '/w/old.txt', oldText: 'a', newText: 'b' },
        ],
      },
      { sessionUpdate: 'tool_call_update', toolCallId: 'e1', status: 'failed' },
    ])
    expect(events.at(-1)).toEqual({
      type: 'item.completed',
      item: {
        id: 'e1',
        type: 'file_change',
        changes: [
          { path: '/w/new.txt', kind: 'add' },
          { path: '/w/old.txt', kind: 'update' },
        ],
        status: 'failed',
      },
    })
  })

  it('ACP v2 statuses: a paused call stays in progress (and resumes), a cancelled one ends failed, saying so', () => {
    const { events } = mapAll([
      { sessionUpdate: 'tool_call', toolCallId: 'b1', title: 'Task', kind: 'other', status: 'in_progress' },
      // paused, then running again: the item is in progress throughout, nothing to send
      { sessionUpdate: 'tool_call_update', toolCallId: 'b1', status: 'paused' },
      { sessionUpdate: 'tool_call_update', toolCallId: 'b1', status: 'in_progress' },
      {
        sessionUpdate: 'tool_call_update',
        toolCallId: 'b1',
        status: 'cancelled',
        rawOutput: { stopped: true },
      },
      // a cancelled call stays ended
      { sessionUpdate: 'tool_call_update', toolCallId: 'b1', status: 'in_progress' },
      {
        sessionUpdate: 'tool_call',
        toolCallId: 'c2',
        title: 'sleep 100',
        kind: 'execute',
        status: 'in_progress',
        rawInput: { command: 'sleep 100' },
      },
      { sessionUpdate: 'tool_call_update', toolCallId: 'c2', status: 'cancelled' },
      { sessionUpdate: 'tool_call', toolCallId: 'p3', title: 'Agent', kind: 'other', status: 'paused' },
    ])
    expect(events.filter((e) => e.type === 'agent.raw')).toEqual([])
    expect(events).toEqual([
      { type: 'item.started', item: { id: 'b1', type: 'tool_call', tool: 'Task', status: 'in_progress' } },
      {
        type: 'item.completed',
        item: {
          id: 'b1',
          type: 'tool_call',
          tool: 'Task',
          result: { stopped: true },
          error: 'the tool call was cancelled',
          status: 'failed',
        },
      },
      {
        type: 'item.started',
        item: {
          id: 'c2',
          type: 'command_execution',
          command: 'sleep 100',
          aggregatedOutput: '',
          exitCode: null,
          status: 'in_progress',
        },
      },
      {
        type: 'item.completed',
        item: {
          id: 'c2',
          type: 'command_execution',
          command: 'sleep 100',
          aggregatedOutput: '',
          exitCode: null,
          status: 'failed',
        },
      },
      { type: 'item.started', item: { id: 'p3', type: 'tool_call', tool: 'Agent', status: 'in_progress' } },
      // still paused when the turn ended: ended as any call left open
      {
        type: 'item.completed',
        item: {
          id: 'p3',
          type: 'tool_call',
          tool: 'Agent',
          status: 'failed',
          error: 'the agent did not report the end of the tool call before the turn ended',
        },
      },
    ])
  })

  it('other kinds are tool_call items; unfinished ones end failed, declined ones declined', () => {
    const m = new UpdateMapper('acp:test', 't1')
    m.map({
      sessionUpdate: 'tool_call',
      toolCallId: 'r1',
      title: 'Read file',
      kind: 'read',
      rawInput: { p: 1 },
    })
    m.map({ sessionUpdate: 'tool_call', toolCallId: 'x1', title: 'rm -rf', kind: 'execute' })
    m.declined('x1')
    expect(m.finish()).toEqual([
      {
        type: 'item.completed',
        item: {
          id: 'r1',
          type: 'tool_call',
          tool: 'Read file',
          arguments: { p: 1 },
          status: 'failed',
          error: 'the agent did not report the end of the tool call before the turn ended',
        },
      },
      {
        type: 'item.completed',
        item: {
          id: 'x1',
          type: 'command_execution',
          command: 'rm -rf',
          aggregatedOutput: '',
          exitCode: null,
          status: 'declined',
        },
      },
    ])
  })

  it('a plan is a todo_list item (started, updated, completed at the end)', () => {
    const plan = (status: string) => ({
      sessionUpdate: 'plan',
      entries: [{ content: 'step one', priority: 'high', status }],
    })
    const { events } = mapAll([plan('pending'), plan('completed')])
    expect(events.map((e) => e.type)).toEqual(['item.started', 'item.updated', 'item.completed'])
    expect(events.at(-1)).toMatchObject({
      item: { type: 'todo_list', items: [{ text: 'step one', completed: true }] },
    })
  })

  it('unknown, malformed and non-text updates are kept as agent.raw', () => {
    const updates = [
      { sessionUpdate: 'usage_update', used: 1, size: 2 },
      { sessionUpdate: 'tool_call' },
      { sessionUpdate: 'agent_message_chunk', content: { type: 'image', data: 'x', mimeType: 'image/png' } },
      'garbage',
    ]
    const { events } = mapAll(updates)
    expect(events).toEqual(updates.map((payload) => ({ type: 'agent.raw', agent: 'acp:test', payload })))
  })
})

describe('ACP permission requests', () => {
  const options: PermissionOption[] = [
    { optionId: 'yes', name: 'Yes', kind: 'allow_once' },
    { optionId: 'always', name: 'Always', kind: 'allow_always' },
    { optionId: 'no', name: 'No', kind: 'reject_once' },
  ]

  it('options map by kind, cancel always offered', () => {
    expect(permissionOptions(options)).toEqual(['accept', 'accept_for_session', 'decline', 'cancel'])
    expect(permissionOptions([{ optionId: 'n', name: 'n', kind: 'reject_always' }])).toEqual([
      'decline',
      'cancel',
    ])
  })

  it('a decision is answered with the optionId of its kind; cancel (or no match) is the cancelled outcome', () => {
    expect(permissionAnswer('accept', options)).toEqual({ outcome: { outcome: 'selected', optionId: 'yes' } })
    expect(permissionAnswer('accept_for_session', options)).toEqual({
      outcome: { outcome: 'selected', optionId: 'always' },
    })
    expect(permissionAnswer('decline', options)).toEqual({ outcome: { outcome: 'selected', optionId: 'no' } })
    expect(permissionAnswer('cancel', options)).toEqual({ outcome: { outcome: 'cancelled' } })
    expect(permissionAnswer('accept_for_session', options.slice(0, 1))).toEqual({
      outcome: { outcome: 'cancelled' },
    })
  })

  it('the ask: command for execute, file_change for edit, permission otherwise', () => {
    const exec = mergeToolCall(undefined, {
      toolCallId: 'c1',
      title: 'echo hi',
      kind: 'execute',
      rawInput: { command: 'echo hi', cwd: '/w/sub' },
    })
    expect(permissionAsk(exec, options, '/w', 'turn1')).toEqual({
      kind: 'command',
      command: 'echo hi',
      cwd: '/w/sub',
      reason: 'echo hi',
      input: { command: 'echo hi', cwd: '/w/sub' },
      options: ['accept', 'accept_for_session', 'decline', 'cancel'],
      itemId: 'c1',
      turnId: 'turn1',
    })
    const edit = mergeToolCall(undefined, {
      toolCallId: 'e1',
      kind: 'edit',
      content: [{ type: 'diff', path: '/w/a.txt', newText: 'x' }],
    })
    expect(permissionAsk(edit, options, '/w')).toMatchObject({
      kind: 'file_change',
      cwd: '/w',
      changes: [{ path: '/w/a.txt', kind: 'add' }],
    })
    const fetch = mergeToolCall(undefined, { toolCallId: 'f1', title: 'Fetch a URL', kind: 'fetch' })
    expect(permissionAsk(fetch, options, '/w')).toMatchObject({ kind: 'permission', reason: 'Fetch a URL' })
  })

  it("the ask names the tool claude-agent-acp's tool call named (`_meta.claudeCode.toolName`); a bad name is dropped, not its terminal", () => {
    const m = new UpdateMapper('acp:claude-agent-acp', 't1')
    m.map({
      sessionUpdate: 'tool_call',
      toolCallId: 's1',
      title: 'Search "q"',
      kind: 'fetch',
      rawInput: { query: 'q' },
      _meta: { claudeCode: { toolName: 'WebSearch' } },
    })
    // the permission request's tool call does not name it: the call's name stays
    m.toolCallAsked({ toolCallId: 's1', title: 'Search "q"', rawInput: { query: 'q' } })
    expect(permissionAsk(m.toolCall('s1')!, options, '/w')).toMatchObject({
      kind: 'permission',
      tool: 'WebSearch',
      input: { query: 'q' },
    })
    const odd = mergeToolCall(
      undefined,
      toolCallFields.parse({
        toolCallId: 'c1',
        _meta: { claudeCode: { toolName: 7 }, terminal_exit: { exit_code: 0 } },
      }),
    )
    expect(odd).toMatchObject({ terminal: true, terminalExitCode: 0 })
    expect(odd.toolName).toBeUndefined()
    expect(permissionAsk(odd, options, '/w')).not.toHaveProperty('tool')
  })
})

describe('ACP_AGENTS', () => {
  it('parses name=command args entries', () => {
    expect(parseAcpAgents('gemini=gemini --acp, copilot = copilot --acp --x')).toEqual([
      { name: 'gemini', command: 'gemini', args: ['--acp'], flavor: 'custom', version: null },
      { name: 'copilot', command: 'copilot', args: ['--acp', '--x'], flavor: 'custom', version: null },
    ])
    expect(parseAcpAgents(undefined)).toEqual([])
    expect(() => parseAcpAgents('nocommand=')).toThrow(/ACP_AGENTS/)
    expect(() => parseAcpAgents('just-a-command')).toThrow(/ACP_AGENTS/)
  })
})
