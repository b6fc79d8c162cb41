import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  held,
  installDemoScript,
  type MockLlm,
  parseSse,
  startMockLlm,
  whenAsked,
} from '../mock-llm/index.js'

let mock: MockLlm

beforeEach(async () => {
  mock = await startMockLlm()
})

afterEach(async () => {
  await mock.close()
})

interface Item {
  type: string
  [key: string]: unknown
}

function userMessage(text: string) {
  return { type: 'message', role: 'user', content: [{ type: 'input_text', text }] }
}

function responsesBody(prompt: string, extra: { input?: unknown[]; tools?: unknown[] } = {}) {
  return {
    model: 'gpt-5.5',
    stream: true,
    input: [
      userMessage('<environment_context>\n  <cwd>/tmp</cwd>\n</environment_context>'),
      userMessage(prompt),
      ...(extra.input ?? []),
    ],
    tools: extra.tools ?? [],
  }
}

function followUpBody(prompt: string, callId = 'call_1') {
  return responsesBody(prompt, {
    input: [
      { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"true"}', call_id: callId },
      { type: 'function_call_output', call_id: callId, output: 'Output:\nfine\n' },
    ],
  })
}

async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${mock.baseUrl}/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  const events = res.headers.get('content-type')?.startsWith('text/event-stream') ? parseSse(text) : []
  return { status: res.status, res, text, events, types: events.map((e) => e.event) }
}

function doneItem(events: ReturnType<typeof parseSse>): Item {
  const done = events.find((e) => e.event === 'response.output_item.done')
  if (!done) throw new Error('no response.output_item.done event')
  return (done.data as { item: Item }).item
}

function messageText(item: Item): string {
  return (item.content as Array<{ text: string }>).map((part) => part.text).join('')
}

describe('mock-llm: OpenAI Responses over SSE', () => {
  it('answers with the default text "OK"', async () => {
    const { status, types, events } = await post(responsesBody('hi'))
    expect(status).toBe(200)
    expect(types).toEqual([
      'response.created',
      'response.output_item.added',
      'response.output_item.done',
      'response.completed',
    ])
    expect(messageText(doneItem(events))).toBe('OK')
    const completed = events.at(-1)?.data as { response: { usage: Record<string, unknown> } }
    expect(completed.response.usage).toMatchObject({
      input_tokens: expect.any(Number),
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    })
  })

  it('streams text as a single message', async () => {
    mock.script({ kind: 'text', text: 'hello there' })
    const { events } = await post(responsesBody('hi'))
    expect(doneItem(events)).toMatchObject({ type: 'message', role: 'assistant' })
    expect(messageText(doneItem(events))).toBe('hello there')
    expect(events.some((e) => e.event === 'response.output_text.delta')).toBe(false)
  })

  it('streams output_text deltas that add up to the text', async () => {
    mock.script({ kind: 'text', text: 'one two  three\nfour', deltas: true })
    const { types, events } = await post(responsesBody('hi'))
    expect(types.slice(0, 3)).toEqual([
      'response.created',
      'response.output_item.added',
      'response.content_part.added',
    ])
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ])
    const deltas = events
      .filter((e) => e.event === 'response.output_text.delta')
      .map((e) => e.data as { delta: string; item_id: string; output_index: number; content_index: number })
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.map((d) => d.delta).join('')).toBe('one two  three\nfour')
    const item = doneItem(events)
    expect(deltas.every((d) => d.item_id === item.id && d.output_index === 0 && d.content_index === 0)).toBe(
      true,
    )
  })

  it('emits exec_command as a function_call', async () => {
    mock.script({ kind: 'exec_command', cmd: 'echo hi > out.txt', workdir: '/tmp' })
    const item = doneItem((await post(responsesBody('hi'))).events)
    expect(item).toMatchObject({ type: 'function_call', name: 'exec_command', call_id: expect.any(String) })
    expect(JSON.parse(item.arguments as string)).toEqual({ cmd: 'echo hi > out.txt', workdir: '/tmp' })
  })

  it("emits update_plan as a function_call with codex's plan arguments", async () => {
    const plan = [{ step: 'read', status: 'in_progress' as const }]
    mock.script({ kind: 'update_plan', plan, explanation: 'why' })
    const item = doneItem((await post(responsesBody('hi'))).events)
    expect(item).toMatchObject({ type: 'function_call', name: 'update_plan', call_id: expect.any(String) })
    expect(JSON.parse(item.arguments as string)).toEqual({ explanation: 'why', plan })
  })

  it('emits apply_patch as a custom tool call when the tool is freeform', async () => {
    const patch = '*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n'
    mock.script({ kind: 'apply_patch', patch })
    const tools = [{ type: 'custom', name: 'apply_patch', format: { type: 'grammar' } }]
    const item = doneItem((await post(responsesBody('hi', { tools }))).events)
    expect(item).toMatchObject({ type: 'custom_tool_call', name: 'apply_patch', input: patch })
  })

  it('emits apply_patch as a function call when the tool is a JSON function', async () => {
    const patch = '*** Begin Patch\n*** Delete File: a.txt\n*** End Patch\n'
    mock.script({ kind: 'apply_patch', patch })
    const tools = [
      {
        type: 'function',
        name: 'apply_patch',
        parameters: { type: 'object', properties: { input: { type: 'string' } }, required: ['input'] },
      },
    ]
    const item = doneItem((await post(responsesBody('hi', { tools }))).events)
    expect(item).toMatchObject({ type: 'function_call', name: 'apply_patch' })
    expect(JSON.parse(item.arguments as string)).toEqual({ input: patch })
  })

  it('answers http_error with the status and body', async () => {
    mock.script({ kind: 'http_error', status: 503, body: 'overloaded' }, { kind: 'http_error', status: 400 })
    const first = await post(responsesBody('hi'))
    expect(first.status).toBe(503)
    expect(first.text).toBe('overloaded')
    const second = await post(responsesBody('hi'))
    expect(second.status).toBe(400)
    expect(JSON.parse(second.text)).toMatchObject({ error: { message: expect.stringContaining('400') } })
  })

  it('drop sends response.created then kills the socket', async () => {
    mock.script({ kind: 'drop' })
    const res = await fetch(`${mock.baseUrl}/responses`, {
      method: 'POST',
      body: JSON.stringify(responsesBody('hi')),
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let received = ''
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return
          received += decoder.decode(value)
        }
      })(),
    ).rejects.toThrow()
    expect(parseSse(received).map((e) => e.event)).toEqual(['response.created'])
  })

  it('honours delayMs before the first byte and chunkDelayMs between events', async () => {
    mock.script({ kind: 'text', text: 'a b c', deltas: true, delayMs: 300, chunkDelayMs: 40 })
    const started = Date.now()
    const res = await fetch(`${mock.baseUrl}/responses`, {
      method: 'POST',
      body: JSON.stringify(responsesBody('x')),
    })
    const headersAfter = Date.now() - started
    const events = parseSse(await res.text())
    const total = Date.now() - started
    expect(headersAfter).toBeGreaterThanOrEqual(290)
    // created, added, part.added, 3 deltas, text.done, part.done, item.done, completed = 10 events, 9 gaps
    expect(events).toHaveLength(10)
    expect(total).toBeGreaterThanOrEqual(290 + 9 * 40 - 20)
  })

  it('records requests before answering them', async () => {
    // its answer held back until the record was read (a delay would race the record's read on a loaded machine)
    const late = held({ kind: 'text', text: 'late' })
    mock.script(late.step)
    const pending = post(responsesBody('record me please'), { 'session-id': 's-1' })
    await late.asked
    expect(mock.requests).toHaveLength(1)
    const [recorded] = mock.requests
    expect(recorded).toMatchObject({ method: 'POST', path: '/v1/responses', at: expect.any(Number) })
    expect(recorded!.headers['session-id']).toBe('s-1')
    expect(mock.lastUserText(recorded!)).toBe('record me please')
    expect((recorded!.body as { model: string }).model).toBe('gpt-5.5')
    late.release()
    expect((await pending).status).toBe(200)
  })

  it('plays script() steps FIFO, then falls back to setDefault()', async () => {
    mock.script({ kind: 'text', text: 'first' }, { kind: 'text', text: 'second' })
    mock.setDefault({ kind: 'text', text: 'fallback' })
    const texts = []
    for (let i = 0; i < 3; i++) texts.push(messageText(doneItem((await post(responsesBody(`p${i}`))).events)))
    expect(texts).toEqual(['first', 'second', 'fallback'])
  })

  it('on(): matches the last user message and continues the scenario across tool follow-ups', async () => {
    mock.on('build it', { kind: 'exec_command', cmd: 'make' }, { kind: 'text', text: 'built' })
    mock.on(/^deploy\b/i, { kind: 'text', text: 'deployed' })
    mock.script({ kind: 'text', text: 'queued' })

    const a = { 'session-id': 'conv-a' }
    const b = { 'session-id': 'conv-b' }
    expect(doneItem((await post(responsesBody('please build it now'), a)).events).type).toBe('function_call')
    // Another conversation interleaves; it does not steal conversation A's next step.
    expect(messageText(doneItem((await post(responsesBody('Deploy please'), b)).events))).toBe('deployed')
    expect(messageText(doneItem((await post(followUpBody('please build it now'), a)).events))).toBe('built')
    // Scenario exhausted: the follow-up no longer re-matches; the queue then the default answer.
    expect(messageText(doneItem((await post(followUpBody('please build it now'), a)).events))).toBe('queued')
    expect(messageText(doneItem((await post(responsesBody('unrelated'), a)).events))).toBe('OK')
    // A new conversation with a matching prompt gets a fresh copy of the scenario.
    const c = await post(responsesBody('build it'), { 'session-id': 'conv-c' })
    expect(doneItem(c.events).type).toBe('function_call')
  })

  it('on(): without session headers, keys the conversation by the first real user message', async () => {
    mock.on('two steps', { kind: 'exec_command', cmd: 'ls' }, { kind: 'text', text: 'listed' })
    expect(doneItem((await post(responsesBody('two steps please'))).events).type).toBe('function_call')
    expect(messageText(doneItem((await post(followUpBody('two steps please'))).events))).toBe('listed')
  })

  it('step factories see the prompt and the last tool output', async () => {
    mock.on('echo', { kind: 'exec_command', cmd: 'true' }, (ctx) => ({
      kind: 'text',
      text: `tool said ${ctx.lastToolOutput}`,
    }))
    mock.setDefault((ctx) => ({ kind: 'text', text: `You said: ${ctx.lastUserText}` }))
    await post(responsesBody('echo'), { 'session-id': 'f' })
    expect(messageText(doneItem((await post(followUpBody('echo'), { 'session-id': 'f' })).events))).toBe(
      'tool said Output:\nfine\n',
    )
    expect(messageText(doneItem((await post(responsesBody('something'))).events))).toBe('You said: something')
  })

  it('whenAsked() says when its step was taken; held() answers once released, or ends at reset() or close()', async () => {
    const first = whenAsked({ kind: 'text', text: 'asked one' })
    const second = held({ kind: 'text', text: 'held one' })
    const third = held({ kind: 'text', text: 'never released' })
    mock.script(first.step, second.step)
    const one = post(responsesBody('one'))
    expect((await first.asked).lastUserText).toBe('one')
    expect(messageText(doneItem((await one).events))).toBe('asked one')

    let answered = false
    const two = post(responsesBody('two')).then((r) => {
      answered = true
      return r
    })
    expect((await second.asked).lastUserText).toBe('two')
    await new Promise((r) => setTimeout(r, 200))
    expect(answered).toBe(false)
    second.release()
    expect(messageText(doneItem((await two).events))).toBe('held one')

    // reset() ends an answer still held back (a failed test's held step does not reach into the next test)
    const fourth = held({ kind: 'text', text: 'held across a reset' })
    mock.script(fourth.step)
    const four = post(responsesBody('four'))
    await fourth.asked
    mock.reset()
    expect((await four).status).toBe(500)

    mock.script(third.step)
    const three = fetch(`${mock.baseUrl}/responses`, {
      method: 'POST',
      body: JSON.stringify(responsesBody('three')),
    }).then(
      async (r) => `answered ${r.status} ${await r.text()}`,
      () => 'failed',
    )
    await third.asked
    await mock.close()
    expect(await three).toBe('failed')
  })

  it('rejects malformed steps early', () => {
    expect(() => mock.script({ kind: 'http_error', status: 200 })).toThrow(/invalid step/)
    expect(() => mock.script({ kind: 'nope' } as never)).toThrow(/invalid step/)
  })

  it('accepts a plain string input', async () => {
    mock.setDefault((ctx) => ({ kind: 'text', text: ctx.lastUserText.toUpperCase() }))
    const { events } = await post({ model: 'm', input: 'shout' })
    expect(messageText(doneItem(events))).toBe('SHOUT')
  })

  it('serves GET /v1/models, 404 JSON for unknown paths, 400 for non-JSON bodies', async () => {
    const models = await fetch(`${mock.baseUrl}/models`)
    expect(models.status).toBe(200)
    expect(await models.json()).toMatchObject({
      object: 'list',
      data: expect.arrayContaining([expect.any(Object)]),
    })
    const missing = await fetch(`${mock.url}/v1/chat/nothing`, { method: 'POST', body: '{}' })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { type: 'not_found' } })
    const bad = await fetch(`${mock.baseUrl}/responses`, { method: 'POST', body: 'not json' })
    expect(bad.status).toBe(400)
    expect(mock.requests).toHaveLength(1)
  })

  it('reset() clears queue, scenarios, default and recorded requests', async () => {
    mock.script({ kind: 'text', text: 'queued' })
    mock.on('x', { kind: 'text', text: 'matched' })
    mock.setDefault({ kind: 'text', text: 'custom default' })
    const requests = mock.requests
    await post(responsesBody('y'))
    mock.reset()
    expect(requests).toHaveLength(0)
    expect(messageText(doneItem((await post(responsesBody('x'))).events))).toBe('OK')
    expect(mock.requests).toHaveLength(1)
  })

  it('close() returns promptly while a slow stream is in flight', async () => {
    mock.script({ kind: 'text', text: 'a b c d e f', deltas: true, chunkDelayMs: 30_000 })
    mock.script({ kind: 'text', text: 'never', delayMs: 60_000 })
    const streaming = await fetch(`${mock.baseUrl}/responses`, {
      method: 'POST',
      body: JSON.stringify(responsesBody('slow')),
    })
    const waiting = fetch(`${mock.baseUrl}/responses`, {
      method: 'POST',
      body: JSON.stringify(responsesBody('x')),
    }).then(
      () => 'answered',
      () => 'failed',
    )
    await expect.poll(() => mock.requests.length).toBe(2)
    const started = Date.now()
    await mock.close()
    // far below the 30 s of the stream's next chunk (a loaded machine's event loop may lag seconds)
    expect(Date.now() - started).toBeLessThan(10_000)
    await expect(streaming.text()).rejects.toThrow()
    expect(await waiting).toBe('failed')
    await mock.close() // idempotent
  })

  it('url and baseUrl point at 127.0.0.1', () => {
    expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(mock.baseUrl).toBe(`${mock.url}/v1`)
  })
})

describe('mock-llm demo script', () => {
  beforeEach(() => installDemoScript(mock))

  it('greets, echoes, and runs a command then summarises its output', async () => {
    expect(messageText(doneItem((await post(responsesBody('say a greeting'))).events))).toMatch(/\w/)
    expect(messageText(doneItem((await post(responsesBody('what is 2+2'))).events))).toBe(
      'You said: what is 2+2',
    )

    const session = { 'session-id': 'demo' }
    const call = doneItem((await post(responsesBody('run something'), session)).events)
    expect(JSON.parse(call.arguments as string)).toEqual({ cmd: 'echo hello from the mock model' })
    const summary = messageText(doneItem((await post(followUpBody('run something'), session)).events))
    expect(summary).toContain('echo hello from the mock model')
    expect(summary).toContain('fine')
  })

  it('answers "slow" prompts slowly', async () => {
    const started = Date.now()
    const res = await fetch(`${mock.baseUrl}/responses`, {
      method: 'POST',
      body: JSON.stringify(responsesBody('be slow')),
    })
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000)
    await res.body?.cancel()
  })
})

describe('mock-llm: Anthropic side requests', () => {
  const messagesBody = (prompt: string, extra: Record<string, unknown> = {}) => ({
    model: 'claude-test',
    stream: true,
    messages: [{ role: 'user', content: [{ type: 'text', text: prompt }] }],
    ...extra,
  })

  async function postMessages(body: unknown) {
    const res = await fetch(`${mock.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return parseSse(await res.text())
  }

  const textOf = (events: ReturnType<typeof parseSse>) =>
    events.map((e) => (e.data as { delta?: { text?: string } }).delta?.text ?? '').join('')

  it('a session-title request is answered without consuming a scripted step and is recorded as side', async () => {
    mock.script({ kind: 'text', text: 'scripted answer' })
    const title = await postMessages(
      messagesBody('<session>\nhello\n</session>', {
        tools: [],
        system: [{ type: 'text', text: 'You are naming a coding session so the user can pick it out.' }],
      }),
    )
    expect(JSON.parse(textOf(title))).toEqual({ title: 'Mock session' })
    const real = await postMessages(
      messagesBody('hello', { tools: [{ name: 'Bash' }], system: 'You are an agent' }),
    )
    expect(textOf(real)).toBe('scripted answer')
    expect(mock.requests.map((r) => r.side ?? false)).toEqual([true, false])
  })

  it('the same system prompt with tools is a real turn', async () => {
    mock.script({ kind: 'text', text: 'scripted answer' })
    const events = await postMessages(
      messagesBody('hello', { tools: [{ name: 'Bash' }], system: 'You are naming a coding session' }),
    )
    expect(textOf(events)).toBe('scripted answer')
    expect(mock.requests[0]?.side).toBeUndefined()
  })
})
