import { afterEach, beforeEach, expect, it } from 'vitest'
import { type MockLlm, parseSse, startMockLlm } from '../mock-llm/index.js'

let mock: MockLlm

beforeEach(async () => {
  mock = await startMockLlm()
})

afterEach(async () => {
  await mock.close()
})

const reminder = { type: 'text', text: '<system-reminder>\nAttribution ...\n</system-reminder>\n' }

function body(prompt: string, extra: unknown[] = []) {
  return {
    model: 'claude-x',
    stream: true,
    messages: [
      { role: 'user', content: [reminder, { type: 'text', text: prompt }] },
      { role: 'system', content: [{ type: 'text', text: '# Environment' }] },
      ...extra,
    ],
  }
}

async function post(payload: unknown, path = '/v1/messages?beta=true', session = 's-1') {
  const res = await fetch(`${mock.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-claude-code-session-id': session },
    body: JSON.stringify(payload),
  })
  const text = await res.text()
  return {
    status: res.status,
    events: res.headers.get('content-type')?.startsWith('text/event-stream') ? parseSse(text) : [],
  }
}

it('streams text with deltas as Anthropic Messages events; lastUserText skips the reminders', async () => {
  mock.script({ kind: 'text', text: 'hello there friend', deltas: true })
  const { events } = await post(body('say hello'))
  expect(events.map((e) => e.event)).toEqual([
    'message_start',
    'content_block_start',
    'content_block_delta',
    'content_block_delta',
    'content_block_delta',
    'content_block_stop',
    'message_delta',
    'message_stop',
  ])
  const text = events
    .filter((e) => e.event === 'content_block_delta')
    .map((e) => (e.data as { delta: { text: string } }).delta.text)
    .join('')
  expect(text).toBe('hello there friend')
  expect(mock.lastUserText(mock.requests[0]!)).toBe('say hello')
})

it('an exec_command step is a Bash tool_use; the tool_result follow-up continues the scenario', async () => {
  mock.on('write it', { kind: 'exec_command', cmd: 'echo hi' }, { kind: 'text', text: 'written' })
  mock.script({ kind: 'text', text: 'queued step untouched' })
  const first = await post(body('please write it'))
  const start = first.events.find((e) => e.event === 'content_block_start')?.data as {
    content_block: { type: string; name: string; id: string }
  }
  expect(start.content_block).toMatchObject({ type: 'tool_use', name: 'Bash' })
  const input = first.events.find((e) => e.event === 'content_block_delta')?.data as {
    delta: { partial_json: string }
  }
  expect(JSON.parse(input.delta.partial_json)).toEqual({ command: 'echo hi' })
  expect(first.events.at(-2)?.data).toMatchObject({ delta: { stop_reason: 'tool_use' } })

  const followUp = await post(
    body('please write it', [
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: start.content_block.id, name: 'Bash', input: {} }],
      },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: start.content_block.id, content: 'hi' }],
      },
    ]),
  )
  const delta = followUp.events.find((e) => e.event === 'content_block_delta')?.data as {
    delta: { text: string }
  }
  expect(delta.delta.text).toBe('written')
  expect(mock.lastUserText(mock.requests[1]!)).toBe('please write it')
})

it('count_tokens is not a model turn: 404, no step consumed', async () => {
  mock.script({ kind: 'text', text: 'kept for the real turn' })
  expect((await post(body('count me'), '/v1/messages/count_tokens?beta=true')).status).toBe(404)
  const { events } = await post(body('real turn'))
  const delta = events.find((e) => e.event === 'content_block_delta')?.data as { delta: { text: string } }
  expect(delta.delta.text).toBe('kept for the real turn')
})

it('http_error answers with an Anthropic error body', async () => {
  mock.script({ kind: 'http_error', status: 529 })
  const res = await fetch(`${mock.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body('fail')),
  })
  expect(res.status).toBe(529)
  expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'api_error' } })
})
