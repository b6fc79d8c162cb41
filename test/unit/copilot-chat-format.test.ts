import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type MockLlm, parseSse, startMockLlm } from '../mock-llm/index.js'
import { postJson } from '../support/gateway.js'

const bashTool = {
  type: 'function',
  function: {
    name: 'bash',
    parameters: {
      type: 'object',
      properties: { command: { type: 'string' }, description: { type: 'string' } },
      required: ['command', 'description'],
    },
  },
}

describe('mock-llm: Chat Completions', () => {
  let mock: MockLlm
  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterAll(async () => {
    await mock.close()
  })
  beforeEach(() => mock.reset())

  const chat = async (messages: unknown[]) => {
    const res = await postJson(`${mock.baseUrl}/chat/completions`, {
      model: 'm',
      stream: true,
      messages,
      tools: [bashTool],
    })
    return { status: res.status, events: parseSse(await res.text()) }
  }
  const chunks = (events: { data: unknown }[]) =>
    events.map(
      (e) =>
        (e.data as { choices: { delta: Record<string, unknown>; finish_reason: string | null }[] })
          .choices[0],
    )

  it('streams text as several content deltas and ends with finish_reason stop + usage', async () => {
    mock.script({ kind: 'text', text: 'one two three', deltas: true })
    const { status, events } = await chat([
      { role: 'user', content: '<current_datetime>x</current_datetime>\n\nhello' },
    ])
    expect(status).toBe(200)
    const parts = chunks(events)
    expect(parts.map((c) => c?.delta.content ?? '').join('')).toBe('one two three')
    expect(parts.filter((c) => typeof c?.delta.content === 'string' && c.delta.content !== '')).toHaveLength(
      3,
    )
    expect(parts.at(-1)?.finish_reason).toBe('stop')
    expect(events.at(-1)?.data).toHaveProperty('usage')
    expect(mock.lastUserText(mock.requests[0]!)).toBe('hello')
  })

  it('an exec_command step calls the declared bash tool with its parameter names', async () => {
    mock.on('run', { kind: 'exec_command', cmd: 'ls -la' }, { kind: 'text', text: 'listed' })
    const first = chunks((await chat([{ role: 'user', content: 'run ls' }])).events)
    const calls = first.flatMap(
      (c) => (c?.delta.tool_calls as { function: { name?: string; arguments: string } }[]) ?? [],
    )
    expect(calls[0]?.function.name).toBe('bash')
    expect(JSON.parse(calls.map((c) => c.function.arguments).join(''))).toEqual({
      command: 'ls -la',
      description: 'mock command',
    })
    expect(first.at(-1)?.finish_reason).toBe('tool_calls')
    // The tool result continues the scenario (a follow-up, same last user message).
    const follow = await chat([
      { role: 'user', content: 'run ls' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'bash', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'total 0' },
    ])
    expect(
      chunks(follow.events)
        .map((c) => c?.delta.content ?? '')
        .join(''),
    ).toBe('listed')
    expect(mock.lastUserText(mock.requests[1]!)).toBe('run ls')
  })

  it('http_error answers with the status and an OpenAI error body', async () => {
    mock.script({ kind: 'http_error', status: 429 })
    const res = await postJson(`${mock.baseUrl}/chat/completions`, {
      messages: [{ role: 'user', content: 'x' }],
    })
    expect(res.status).toBe(429)
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/429/)
  })
})
