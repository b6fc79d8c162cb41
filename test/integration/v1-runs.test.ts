import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { Validator } from '@seriousme/openapi-schema-validator'
import { beforeEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { MockLlm } from '../mock-llm/index.js'
import { postJson, readNdjson, sharedGateway, startGateway, type TestGateway } from '../support/gateway.js'
import { readSse, readSseUntil } from '../support/sse-client.js'
import { tempDir } from '../support/temp.js'
import { tmpWrites } from '../support/tmp-writes.js'

/** The native /v1 run API over real sockets with the real codex. */
describe('/v1/runs', () => {
  // agents get a TMPDIR of their own (not under a run's cwd): the workspace-write cases try to write it
  const tmpdir = tempDir('agent-tmp-')
  const shared = sharedGateway({ TMPDIR: tmpdir })
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => ({ mock, gw } = shared))

  const submit = async (body: Record<string, unknown>, query = '') => {
    const res = await postJson(`${gw.url}/v1/runs${query}`, body)
    return { res, run: (await res.json()) as Run }
  }
  const events = async (id: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${gw.url}/v1/runs/${id}/events`, {
      headers: { accept: 'application/x-ndjson', ...headers },
    })
    return (await res.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as StoredEvent)
  }

  it('POST answers 202 with the queued run and a Location; GET shows the finished outcome', async () => {
    mock.script({ kind: 'text', text: 'durable hello' })
    const { res, run } = await submit({ prompt: 'hello durable' })
    expect(res.status).toBe(202)
    expect(res.headers.get('location')).toBe(`/v1/runs/${run.id}`)
    expect(run).toMatchObject({ agent: 'codex', status: expect.stringMatching(/queued|running/) })
    const all = await events(run.id)
    expect(all.at(-1)).toMatchObject({
      type: 'run.completed',
      status: 'succeeded',
      finalResponse: 'durable hello',
    })
    const done = (await (await fetch(`${gw.url}/v1/runs/${run.id}`)).json()) as Run
    expect(done).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
      reason: 'exited',
      finalResponse: 'durable hello',
    })
    expect(done.usage?.outputTokens).toBeGreaterThan(0)
    expect(done.agentSessionId).toEqual(expect.any(String))
  })

  it('?wait=true returns the finished run', async () => {
    mock.script({ kind: 'text', text: 'waited' })
    const { res, run } = await submit({ prompt: 'wait for me' }, '?wait=true')
    expect(res.status).toBe(200)
    expect(run).toMatchObject({ status: 'succeeded', finalResponse: 'waited' })
  })

  it('streams SSE when asked (id = seq, event = type) and NDJSON when asked', async () => {
    mock.script({ kind: 'text', text: 'streamed' })
    const sse = await fetch(`${gw.url}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ prompt: 'stream it' }),
    })
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const frames = await readSse(sse)
    expect(frames.map((f) => Number(f.id))).toEqual(frames.map((_, i) => i + 1))
    expect(frames.map((f) => f.event)).toContain('item.completed')
    expect(frames.at(-1)?.event).toBe('run.completed')

    mock.script({ kind: 'text', text: 'ndjson' })
    const nd = await fetch(`${gw.url}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ prompt: 'ndjson it' }),
    })
    expect(nd.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
    const lines = (await nd.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as StoredEvent)
    expect(lines[0]).toMatchObject({ type: 'run.queued', seq: 1 })
    expect(lines.at(-1)).toMatchObject({ type: 'run.completed', finalResponse: 'ndjson' })
  })

  it('reconnect with Last-Event-ID: exactly the remaining events, no gap, no duplicate', async () => {
    mock.script(
      { kind: 'exec_command', cmd: 'echo one', yieldTimeMs: 10_000 },
      { kind: 'text', text: 'after the command', delayMs: 800 },
    )
    const { run } = await submit({ prompt: 'several events', sandbox: 'workspace-write' })
    const first = await fetch(`${gw.url}/v1/runs/${run.id}/events`, {
      headers: { accept: 'text/event-stream' },
    })
    const part = await readSseUntil(first, (f) => f.event === 'run.started')
    const lastId = part.at(-1)!.id!
    const rest = await readSse(
      await fetch(`${gw.url}/v1/runs/${run.id}/events`, {
        headers: { accept: 'text/event-stream', 'last-event-id': lastId },
      }),
    )
    const seqs = [...part, ...rest].map((f) => Number(f.id))
    const full = await events(run.id)
    expect(seqs).toEqual(full.map((e) => e.seq))
    expect(rest.map((f) => JSON.parse(f.data))).toEqual(full.slice(part.length))
    expect(full.at(-1)?.type).toBe('run.completed')
    // ?after= does the same as Last-Event-ID
    const after = await fetch(`${gw.url}/v1/runs/${run.id}/events?after=${lastId}`, {
      headers: { accept: 'text/event-stream' },
    })
    expect((await readSse(after)).map((f) => f.id)).toEqual(rest.map((f) => f.id))
  })

  it('two concurrent subscribers receive identical sequences', async () => {
    mock.script(
      { kind: 'exec_command', cmd: 'echo two', yieldTimeMs: 10_000 },
      { kind: 'text', text: 'both see this', delayMs: 500 },
    )
    const { run } = await submit({ prompt: 'fan out', sandbox: 'workspace-write' })
    const open = () =>
      fetch(`${gw.url}/v1/runs/${run.id}/events`, { headers: { accept: 'text/event-stream' } })
    const [a, b] = await Promise.all([open().then(readSse), open().then(readSse)])
    expect(a.length).toBeGreaterThan(4)
    expect(a).toEqual(b)
  })

  it('outputSchema reaches the model as text.format and the result is the parsed JSON', async () => {
    const schema = {
      type: 'object',
      properties: { greeting: { type: 'string' }, count: { type: 'integer' } },
      required: ['greeting', 'count'],
      additionalProperties: false,
    }
    mock.script({ kind: 'text', text: '{"greeting":"hi","count":3}' })
    const { run } = await submit({ prompt: 'structured please', outputSchema: schema }, '?wait=true')
    expect(run).toMatchObject({ status: 'succeeded', result: { greeting: 'hi', count: 3 } })
    const body = mock.requests.at(-1)?.body as { text?: { format?: { schema?: unknown; type?: string } } }
    expect(body.text?.format?.type).toBe('json_schema')
    expect(body.text?.format?.schema).toMatchObject({ properties: schema.properties })
  })

  it('a final response that does not match outputSchema fails the run with the reason', async () => {
    mock.script({ kind: 'text', text: '{"greeting":42}' })
    const schema = { type: 'object', properties: { greeting: { type: 'string' } }, required: ['greeting'] }
    const { run } = await submit({ prompt: 'bad structure', outputSchema: schema }, '?wait=true')
    expect(run.status).toBe('failed')
    expect(run.error).toMatch(/outputSchema/)
  })

  it('outputSchema patterns run in linear time: a backtracking one cannot stall the gateway', async () => {
    // what only a backtracking engine runs is refused before anything starts (not lookbehind: Node 24's linear
    // engine runs it, Node 20's refuses it; both are safe)
    const before = mock.requests.length
    for (const pattern of ['^(a)\\1$', '^(?=a)a$', '^\\p{L}+$']) {
      const { res, run } = await submit({
        prompt: 'x',
        outputSchema: { type: 'string', pattern },
      })
      expect(res.status, pattern).toBe(400)
      expect(JSON.stringify(run), pattern).toMatch(/outputSchema/)
    }
    expect(mock.requests.length).toBe(before)
    // ^(a+)+$ against 48 a's and a "!": about 2^48 steps for a backtracking engine, none here
    const evil = { type: 'object', properties: { x: { type: 'string', pattern: '^(a+)+$' } } }
    mock.script({ kind: 'text', text: `{"x":"${'a'.repeat(48)}!"}` })
    const { run } = await submit({ prompt: 'evil structure', outputSchema: evil }, '?wait=true')
    expect(run.status).toBe('failed')
    expect(run.error).toMatch(/must match pattern/)
    expect((await fetch(`${gw.url}/health`)).status).toBe(200)
    // an ordinary pattern still checks
    const plain = { type: 'object', properties: { x: { type: 'string', pattern: '^[a-z]{2,}$' } } }
    mock.script({ kind: 'text', text: '{"x":"ok"}' })
    const ok = await submit({ prompt: 'plain structure', outputSchema: plain }, '?wait=true')
    expect(ok.run).toMatchObject({ status: 'succeeded', result: { x: 'ok' } })
  })

  it("outputSchema: each run's schema is its own, whatever `$id` an earlier one had", async () => {
    const first = { $id: 'urn:example:answer', type: 'object', required: ['a'] }
    mock.script({ kind: 'text', text: '{"a":1}' })
    expect((await submit({ prompt: 'first', outputSchema: first }, '?wait=true')).run.status).toBe(
      'succeeded',
    )
    // the same `$id` again: checked against this schema, not refused, not the earlier one
    const second = { $id: 'urn:example:answer', type: 'object', required: ['b'] }
    mock.script({ kind: 'text', text: '{"b":2}' })
    const again = await submit({ prompt: 'second', outputSchema: second }, '?wait=true')
    expect(again.run).toMatchObject({ status: 'succeeded', result: { b: 2 } })
    // and a later schema cannot reach an earlier one by its `$id`
    const borrowing = await submit({ prompt: 'x', outputSchema: { $ref: 'urn:example:answer' } })
    expect(borrowing.res.status).toBe(400)
  })

  it('outputSchema: a nested `$id` serves its own schema and is gone after it', async () => {
    // `$ref` to a nested `$id` works within the schema that declares it
    const declaring = {
      type: 'object',
      properties: {
        a: { $id: 'urn:example:nested', type: 'object', required: ['x'] },
        b: { $ref: 'urn:example:nested' },
      },
    }
    mock.script({ kind: 'text', text: '{"b":{"x":1}}' })
    const first = await submit({ prompt: 'nested', outputSchema: declaring }, '?wait=true')
    expect(first.run).toMatchObject({ status: 'succeeded', result: { b: { x: 1 } } })
    // a later request (of any tenant) cannot reach it: its `$ref` does not resolve (it resolved into the later
    // schema's own /properties/a when the id stayed registered)
    const borrowing = await submit({
      prompt: 'x',
      outputSchema: {
        type: 'object',
        properties: { a: { type: 'integer' }, b: { $ref: 'urn:example:nested' } },
      },
    })
    expect(borrowing.res.status).toBe(400)
    expect(JSON.stringify(borrowing.run)).toMatch(
      /outputSchema\.properties\.b\.\$ref \\"urn:example:nested\\" points outside the schema/,
    )
  })

  // The default sandbox mode (CODEX_CONFINE_READS unset: `--sandbox workspace-write`, the app-server thread's
  // `sandbox`, codex-acp's `sandbox_mode`); confinement.test.ts proves the same with permission profiles.
  describe('workspace-write: a command writes its cwd, neither /tmp nor $TMPDIR', () => {
    const writeRun = async (name: string, body: Record<string, unknown>, answer = 'tried') => {
      const cwd = path.join(gw.workspace, name)
      mkdirSync(cwd)
      const writes = tmpWrites(tmpdir)
      mock.script(
        { kind: 'exec_command', cmd: writes.cmd, yieldTimeMs: 10_000 },
        { kind: 'text', text: answer },
      )
      const { run } = await submit(
        { prompt: 'write', cwd: name, sandbox: 'workspace-write', ...body },
        '?wait=true',
      )
      expect(run.status, JSON.stringify(run)).toBe('succeeded')
      writes.confined(cwd)
      return (await events(run.id)).find((e) => e.type === 'run.started') as StoredEvent & { pid?: number }
    }

    it('a codex run on the running app-server (a warm run)', async () => {
      const started = await writeRun('ww-warm', {})
      expect(started.pid).toBeUndefined()
    })

    it('a `codex exec` run (its output schema keeps it off the app-server)', async () => {
      const schema = { type: 'object', properties: { done: { type: 'boolean' } } }
      const started = await writeRun('ww-exec', { outputSchema: schema }, '{"done":true}')
      expect(started.pid).toEqual(expect.any(Number))
    })

    it('an acp:codex-acp run', async () => {
      await writeRun('ww-acp', { agent: 'acp:codex-acp' })
    })

    it('POST /run `codex exec --sandbox workspace-write`', async () => {
      const cwd = path.join(gw.workspace, 'ww-cli')
      mkdirSync(cwd)
      const writes = tmpWrites(tmpdir)
      mock.script({ kind: 'exec_command', cmd: writes.cmd }, { kind: 'text', text: 'tried' })
      const res = await postJson(`${gw.url}/run`, {
        cli: 'codex',
        args: ['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', 'write'],
        cwd,
      })
      const lines = await readNdjson(res)
      expect(lines.at(-1), JSON.stringify(lines).slice(-3000)).toEqual({ type: 'exit', code: 0 })
      writes.confined(cwd)
    })
  })

  it('lists runs newest first with filters and a cursor', async () => {
    mock.setDefault({ kind: 'text', text: 'listed' })
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await submit({ prompt: `list ${i}` }, '?wait=true')).run.id)
    const page1 = (await (await fetch(`${gw.url}/v1/runs?limit=2&status=succeeded`)).json()) as {
      runs: Run[]
      nextCursor: string | null
    }
    expect(page1.runs.map((r) => r.id)).toEqual([ids[2], ids[1]])
    expect(page1.nextCursor).toBe(ids[1])
    const page2 = (await (await fetch(`${gw.url}/v1/runs?limit=2&cursor=${page1.nextCursor}`)).json()) as {
      runs: Run[]
    }
    expect(page2.runs[0]?.id).toBe(ids[0])
    const other = (await (await fetch(`${gw.url}/v1/runs?agent=nobody`)).json()) as { runs: Run[] }
    expect(other.runs).toEqual([])
  })

  describe('bad input', () => {
    it('unknown run: 404 on get, events and cancel', async () => {
      for (const [method, path] of [
        ['GET', '/v1/runs/run_nope'],
        ['GET', '/v1/runs/run_nope/events'],
        ['POST', '/v1/runs/run_nope/cancel'],
      ] as const) {
        const res = await fetch(`${gw.url}${path}`, { method })
        expect(res.status, path).toBe(404)
        expect(await res.json()).toMatchObject({ error: { code: 'not_found' } })
      }
    })

    it('malformed Last-Event-ID: 400', async () => {
      mock.script({ kind: 'text', text: 'x' })
      const { run } = await submit({ prompt: 'x' }, '?wait=true')
      const res = await fetch(`${gw.url}/v1/runs/${run.id}/events`, { headers: { 'last-event-id': 'abc' } })
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({
        error: { code: 'invalid_request', message: expect.stringMatching(/Last-Event-ID/) },
      })
    })

    it('cancel of a finished run: 409', async () => {
      mock.script({ kind: 'text', text: 'x' })
      const { run } = await submit({ prompt: 'x' }, '?wait=true')
      const res = await fetch(`${gw.url}/v1/runs/${run.id}/cancel`, { method: 'POST' })
      expect(res.status).toBe(409)
      expect(await res.json()).toMatchObject({ error: { code: 'conflict' } })
    })

    it('invalid outputSchema: 400 and nothing runs', async () => {
      const before = mock.requests.length
      const { res, run } = await submit({ prompt: 'x', outputSchema: { type: 'no-such-type' } })
      expect(res.status).toBe(400)
      expect(run).toMatchObject({
        error: { code: 'invalid_request', message: expect.stringMatching(/outputSchema/) },
      })
      expect(mock.requests.length).toBe(before)
      // valid, but longer than 128 KiB as JSON: refused before anything runs too
      const long = { type: 'object', description: 'x'.repeat(128 * 1024) }
      const tooLong = await submit({ prompt: 'x', outputSchema: long })
      expect(tooLong.res.status).toBe(400)
      expect(tooLong.run).toMatchObject({
        error: { message: 'outputSchema is 131106 characters as JSON; at most 131072 are accepted' },
      })
      expect(mock.requests.length).toBe(before)
    })

    it('wrong types, unknown agent and cwd outside the workspace: 400', async () => {
      expect((await submit({ prompt: 42 })).res.status).toBe(400)
      const unknown = await submit({ prompt: 'x', agent: 'nobody' })
      expect(unknown.res.status).toBe(400)
      expect(JSON.stringify(unknown.run)).toMatch(/unknown agent/)
      const outside = await submit({ prompt: 'x', cwd: '/etc' })
      expect(outside.res.status).toBe(400)
      expect(JSON.stringify(outside.run)).toMatch(/outside the workspace/)
    })
  })

  it('GET /v1/agents and /v1/models', async () => {
    const agents = (await (await fetch(`${gw.url}/v1/agents`)).json()) as {
      agents: {
        id: string
        installed: boolean
        capabilities: { sessions: boolean }
        skills: string[] | null
      }[]
    }
    expect(agents.agents.map((a) => a.id)).toEqual([
      'codex',
      'codex-exec',
      'claude',
      'gemini',
      'copilot',
      'acp:codex-acp',
      'acp:claude-agent-acp',
      'acp:gemini',
      'cli',
    ])
    const codex = agents.agents.find((a) => a.id === 'codex')
    expect(codex).toMatchObject({
      installed: true,
      version: expect.any(String),
      capabilities: { sessions: true },
    })
    expect(Array.isArray(codex?.skills)).toBe(true)
    // MODEL_LIST is not set: the models come from codex app-server's model/list.
    const models = (await (await fetch(`${gw.url}/v1/models?agent=codex`)).json()) as {
      agent: string
      models: string[]
    }
    expect(models.agent).toBe('codex')
    expect(models.models).toContain('gpt-5.5')
    expect(await (await fetch(`${gw.url}/v1/models?agent=codex-exec`)).json()).toEqual({
      agent: 'codex-exec',
      models: ['auto'],
    })
  })

  it('MODEL_LIST, when set, overrides the agent own list', async () => {
    const other = await startGateway(mock, { MODEL_LIST: 'gpt-a,gpt-b' })
    try {
      expect(await (await fetch(`${other.url}/v1/models?agent=codex`)).json()).toEqual({
        agent: 'codex',
        models: ['gpt-a', 'gpt-b'],
      })
    } finally {
      await other.close()
    }
  })

  it('/openapi.json is a valid OpenAPI 3.1 document listing every /v1 route; /docs serves the UI', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
      openapi: string
      paths: Record<string, unknown>
    }
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0])
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([])
    expect(result.valid).toBe(true)
    expect(doc.openapi).toBe('3.1.0')
    for (const path of [
      '/v1/runs',
      '/v1/runs/{id}',
      '/v1/runs/{id}/events',
      '/v1/runs/{id}/cancel',
      '/v1/agents',
      '/v1/models',
    ])
      expect(Object.keys(doc.paths), path).toContain(path)
    const docs = await fetch(`${gw.url}/docs/`)
    expect(docs.status).toBe(200)
    expect(await docs.text()).toMatch(/swagger/i)
  })
})

describe('/v1/runs with the cli agent', () => {
  it('runs an allowlisted command durably: output events, exit code, replayable', async () => {
    const gw = await startGateway(null, { CLI_LIST: 'codex,cat' })
    try {
      const res = await postJson(`${gw.url}/v1/runs?wait=true`, {
        agent: 'cli',
        command: { cli: 'cat', args: [], stdin: 'line one\nline two\n' },
      })
      const run = (await res.json()) as Run
      expect(run).toMatchObject({ agent: 'cli', status: 'succeeded', exitCode: 0 })
      const ev = await fetch(`${gw.url}/v1/runs/${run.id}/events`, {
        headers: { accept: 'application/x-ndjson' },
      })
      const lines = (await ev.text())
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as StoredEvent)
      const stdout = lines.filter((e) => e.type === 'output' && e.stream === 'stdout')
      expect(stdout.map((e) => (e.type === 'output' ? e.data : '')).join('')).toBe('line one\nline two\n')
      const refused = await postJson(`${gw.url}/v1/runs`, {
        agent: 'cli',
        command: { cli: 'bash', args: ['-c', 'id'] },
      })
      expect(refused.status).toBe(400)
      expect(await refused.text()).toMatch(/CLI_LIST/)
      const noCommand = await postJson(`${gw.url}/v1/runs`, { agent: 'cli', prompt: 'x' })
      expect(noCommand.status).toBe(400)
      const noPrompt = await postJson(`${gw.url}/v1/runs`, {})
      expect(noPrompt.status).toBe(400)
      expect(await noPrompt.text()).toMatch(/prompt/)
    } finally {
      await gw.close()
    }
  })
})
