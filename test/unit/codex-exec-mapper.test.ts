import { describe, expect, it } from 'vitest'
import { createCodexExecMapper } from '../../src/agents/codex/exec-events.js'
import { type AgentEvent, agentEvent } from '../../src/protocol/events.js'

/** A real `codex exec --json` transcript (codex 0.169). */
const transcript = [
  '{"type":"thread.started","thread_id":"01a1fe2d-daed-7480-acac-6247f754897a"}',
  '{"type":"turn.started"}',
  `{"type":"item.started","item":{"id":"item_0","type":"command_execution","command":"/bin/bash -lc 'echo hi > out.txt; echo done'","aggregated_output":"","exit_code":null,"status":"in_progress"}}`,
  `{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"/bin/bash -lc 'echo hi > out.txt; echo done'","aggregated_output":"done\\n","exit_code":0,"status":"completed"}}`,
  '{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Hello there, friend!"}}',
  '{"type":"turn.completed","usage":{"input_tokens":20,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":10,"reasoning_output_tokens":0}}',
]

function mapAll(lines: string[], mapper = createCodexExecMapper()): AgentEvent[] {
  return lines.flatMap((l) => mapper.map(l))
}

function expectValid(events: AgentEvent[]): void {
  for (const ev of events) {
    const parsed = agentEvent.safeParse(ev)
    expect(parsed.success, `${JSON.stringify(ev)}: ${parsed.error?.message}`).toBe(true)
  }
}

const item = (type: 'item.started' | 'item.updated' | 'item.completed', it: unknown) =>
  JSON.stringify({ type, item: it })

/** Maps codex's item.completed of `codexItem`: one schema-valid item.completed of the same item. */
function expectCompletedAsIs(codexItem: Record<string, unknown>, mapper = createCodexExecMapper()): void {
  const events = mapAll([item('item.completed', codexItem)], mapper)
  expect(events).toEqual([{ type: 'item.completed', item: codexItem }])
  expectValid(events)
}

describe('createCodexExecMapper: real transcript', () => {
  it('maps every line to the normalized events', () => {
    const events = mapAll(transcript)
    expect(events).toEqual([
      { type: 'agent.session', agent: 'codex', agentSessionId: '01a1fe2d-daed-7480-acac-6247f754897a' },
      { type: 'turn.started' },
      {
        type: 'item.started',
        item: {
          id: 'item_0',
          type: 'command_execution',
          command: "/bin/bash -lc 'echo hi > out.txt; echo done'",
          aggregatedOutput: '',
          exitCode: null,
          status: 'in_progress',
        },
      },
      {
        type: 'item.completed',
        item: {
          id: 'item_0',
          type: 'command_execution',
          command: "/bin/bash -lc 'echo hi > out.txt; echo done'",
          aggregatedOutput: 'done\n',
          exitCode: 0,
          status: 'completed',
        },
      },
      { type: 'item.completed', item: { id: 'item_1', type: 'agent_message', text: 'Hello there, friend!' } },
      {
        type: 'turn.completed',
        usage: { inputTokens: 20, cachedInputTokens: 0, outputTokens: 10, reasoningOutputTokens: 0 },
      },
    ])
  })

  it('produces only events that pass the protocol schema', () => {
    expectValid(mapAll(transcript))
  })

  it('remembers the final response, usage and thread id', () => {
    const mapper = createCodexExecMapper()
    expect(mapper.finalResponse()).toBeNull()
    expect(mapper.usage()).toBeNull()
    expect(mapper.threadId()).toBeNull()
    mapAll(transcript, mapper)
    expect(mapper.finalResponse()).toBe('Hello there, friend!')
    expect(mapper.usage()).toEqual({
      inputTokens: 20,
      cachedInputTokens: 0,
      outputTokens: 10,
      reasoningOutputTokens: 0,
    })
    expect(mapper.threadId()).toBe('01a1fe2d-daed-7480-acac-6247f754897a')
    expect(mapper.failure()).toBeNull()
    expect(mapper.lastError?.()).toBeNull()
  })

  it('uses the agent name it was created with', () => {
    const [session] = mapAll(transcript.slice(0, 1), createCodexExecMapper('codex-exec'))
    expect(session).toMatchObject({ type: 'agent.session', agent: 'codex-exec' })
  })

  it('keeps the last agent message as the final response', () => {
    const mapper = createCodexExecMapper()
    mapAll(
      [
        item('item.completed', { id: 'a', type: 'agent_message', text: 'first' }),
        item('item.completed', { id: 'b', type: 'agent_message', text: 'second' }),
      ],
      mapper,
    )
    expect(mapper.finalResponse()).toBe('second')
  })

  it('does not take a started (unfinished) agent message as the final response', () => {
    const mapper = createCodexExecMapper()
    mapAll([item('item.started', { id: 'a', type: 'agent_message', text: 'partial' })], mapper)
    expect(mapper.finalResponse()).toBeNull()
  })
})

describe('createCodexExecMapper: lines it does not understand', () => {
  it.each([
    ['a non-JSON line', 'warning: something went sideways', 'warning: something went sideways'],
    ['an unknown event type', '{"type":"session.configured","x":1}', { type: 'session.configured', x: 1 }],
    [
      'an unknown item type',
      '{"type":"item.completed","item":{"id":"i9","type":"hologram","beam":true}}',
      { type: 'item.completed', item: { id: 'i9', type: 'hologram', beam: true } },
    ],
    [
      'a known item type with a missing field',
      '{"type":"item.completed","item":{"id":"i9","type":"agent_message"}}',
      { type: 'item.completed', item: { id: 'i9', type: 'agent_message' } },
    ],
    ['a JSON scalar', '42', 42],
    ['JSON null', 'null', null],
    ['truncated JSON', '{"type":"turn.sta', '{"type":"turn.sta'],
  ])('turns %s into exactly one agent.raw', (_what, line, payload) => {
    const mapper = createCodexExecMapper()
    let events: AgentEvent[] = []
    expect(() => {
      events = mapper.map(line)
    }).not.toThrow()
    expect(events).toEqual([{ type: 'agent.raw', agent: 'codex', payload }])
    expectValid(events)
  })

  it('ignores blank lines', () => {
    const mapper = createCodexExecMapper()
    expect(mapper.map('')).toEqual([])
    expect(mapper.map('   ')).toEqual([])
  })
})

describe('createCodexExecMapper: failures and errors', () => {
  it('turn.failed sets failure()', () => {
    const mapper = createCodexExecMapper()
    const events = mapper.map('{"type":"turn.failed","error":{"message":"stream disconnected"}}')
    expect(events).toEqual([{ type: 'turn.failed', error: 'stream disconnected' }])
    expectValid(events)
    expect(mapper.failure()).toBe('stream disconnected')
  })

  it('an error event sets lastError() but not failure()', () => {
    const mapper = createCodexExecMapper()
    const events = mapper.map('{"type":"error","message":"Reconnecting... 1/5"}')
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      type: 'item.completed',
      item: { type: 'error', message: 'Reconnecting... 1/5' },
    })
    expectValid(events)
    expect(mapper.lastError?.()).toBe('Reconnecting... 1/5')
    expect(mapper.failure()).toBeNull()
  })

  it('gives two error events distinct item ids', () => {
    const mapper = createCodexExecMapper()
    const [a] = mapper.map('{"type":"error","message":"one"}')
    const [b] = mapper.map('{"type":"error","message":"two"}')
    const idOf = (ev: AgentEvent | undefined) => (ev?.type === 'item.completed' ? ev.item.id : undefined)
    expect(idOf(a)).toBeDefined()
    expect(idOf(a)).not.toBe(idOf(b))
  })

  it('turn.completed without usage records null usage', () => {
    const mapper = createCodexExecMapper()
    const events = mapper.map('{"type":"turn.completed"}')
    expect(events).toEqual([{ type: 'turn.completed', usage: null }])
    expectValid(events)
    expect(mapper.usage()).toBeNull()
  })
})

describe('createCodexExecMapper: item types', () => {
  it('maps mcp_tool_call to tool_call', () => {
    const events = mapAll([
      item('item.started', {
        id: 'item_2',
        type: 'mcp_tool_call',
        server: 'docs',
        tool: 'search',
        arguments: { q: 'zod' },
        result: null,
        error: null,
        status: 'in_progress',
      }),
      item('item.completed', {
        id: 'item_2',
        type: 'mcp_tool_call',
        server: 'docs',
        tool: 'search',
        arguments: { q: 'zod' },
        result: { content: [{ type: 'text', text: 'found' }] },
        error: null,
        status: 'completed',
      }),
      item('item.completed', {
        id: 'item_3',
        type: 'mcp_tool_call',
        server: 'docs',
        tool: 'fetch',
        error: { message: 'tool crashed' },
        status: 'failed',
      }),
    ])
    expect(events[0]).toEqual({
      type: 'item.started',
      item: {
        id: 'item_2',
        type: 'tool_call',
        server: 'docs',
        tool: 'search',
        arguments: { q: 'zod' },
        result: null,
        status: 'in_progress',
      },
    })
    expect(events[1]).toMatchObject({
      type: 'item.completed',
      item: {
        type: 'tool_call',
        result: { content: [{ type: 'text', text: 'found' }] },
        status: 'completed',
      },
    })
    expect(events[2]).toMatchObject({
      item: { id: 'item_3', type: 'tool_call', tool: 'fetch', error: 'tool crashed', status: 'failed' },
    })
    expectValid(events)
  })

  it('maps file_change', () => {
    expectCompletedAsIs({
      id: 'item_4',
      type: 'file_change',
      changes: [
        { path: '/w/a.txt', kind: 'add' },
        { path: '/w/b.txt', kind: 'delete' },
        { path: '/w/c.txt', kind: 'update' },
      ],
      status: 'completed',
    })
  })

  it('maps todo_list, also as item.updated, sent only when it changed (codex repeats its plan)', () => {
    const plan = (done: boolean) => ({
      id: 'item_5',
      type: 'todo_list',
      items: [
        { text: 'read the code', completed: done },
        { text: 'write tests', completed: false },
      ],
    })
    const events = mapAll([
      item('item.started', plan(false)),
      item('item.updated', plan(false)),
      item('item.updated', plan(true)),
      item('item.updated', plan(true)),
      item('item.completed', plan(true)),
    ])
    expect(events).toEqual([
      { type: 'item.started', item: plan(false) },
      { type: 'item.updated', item: plan(true) },
      { type: 'item.completed', item: plan(true) },
    ])
    expectValid(events)
  })

  it('maps web_search', () => {
    expectCompletedAsIs({ id: 'item_6', type: 'web_search', query: 'vitest 4 poll' })
  })

  it('maps reasoning and does not take it as the final response', () => {
    const mapper = createCodexExecMapper()
    expectCompletedAsIs({ id: 'item_7', type: 'reasoning', text: '**Planning**' }, mapper)
    expect(mapper.finalResponse()).toBeNull()
  })

  it('maps an error item', () => {
    expectCompletedAsIs({ id: 'item_8', type: 'error', message: 'sandbox denied' })
  })

  it('produces schema-valid events for a command that was declined', () => {
    const events = mapAll([
      item('item.completed', {
        id: 'item_9',
        type: 'command_execution',
        command: 'rm -rf /',
        aggregated_output: '',
        exit_code: null,
        status: 'declined',
      }),
    ])
    expect(events[0]).toMatchObject({ item: { status: 'declined', exitCode: null } })
    expectValid(events)
  })
})
