import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { parseCodexLine } from '../../src/agents/codex/exec-json.js'
import { encodeSse } from '../../src/http/sse.js'
import { LineSplitter } from '../../src/process/line-splitter.js'
import type { Run } from '../../src/protocol/runs.js'
import { waitFor } from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { postJson, sharedGateway, startGateway, type TestGateway } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'

type CodexEvent = { type: string; item?: { type: string; text?: string; command?: string } }

/** The `data:` payloads of an SSE body, parsed as JSON. */
function sseData(text: string): CodexEvent[] {
  return text
    .split('\n\n')
    .map((frame) =>
      frame
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice('data: '.length))
        .join('\n'),
    )
    .filter(Boolean)
    .map((d) => JSON.parse(d) as CodexEvent)
}

/** A 1x1 PNG: codex sends an image it can read to the model. */
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
)

/** Seed 002 (FastAPI around `codex exec --json`) over real sockets with the real codex. */
describe('POST /api/codex/stream and /api/codex/run (seed 002)', () => {
  const shared = sharedGateway()
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => ({ mock, gw } = shared))

  it('streams codex events verbatim as SSE data lines, in order', async () => {
    mock.script({ kind: 'text', text: 'streamed answer' })
    // `output_schema: {}` is no schema, as the original's `if output_schema:` (codex asks for no response format)
    const res = await postJson(`${gw.url}/api/codex/stream`, { prompt: 'stream please', output_schema: {} })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const text = await res.text()
    for (const frame of text.split('\n\n').filter(Boolean)) expect(frame).toMatch(/^(data: |: keep-alive)/)
    const events = sseData(text)
    const types = events.map((e) => e.type)
    expect(types[0]).toBe('thread.started')
    const message = events.findIndex((e) => e.item?.type === 'agent_message')
    expect(events[message]?.item?.text).toBe('streamed answer')
    expect(types.indexOf('turn.started')).toBeGreaterThan(0)
    expect(types.indexOf('turn.started')).toBeLessThan(message)
    expect(types.at(-1)).toBe('turn.completed')
    expect(events[message]?.type).toBe('item.completed')
    expect(mock.lastUserText(mock.requests[0]!)).toContain('stream please')
    expect((mock.requests[0]!.body as { text?: { format?: unknown } }).text?.format).toBeUndefined()
  })

  it('/api/codex/run answers {events, final_response}', async () => {
    mock.script({ kind: 'text', text: 'the final answer' })
    const res = await postJson(`${gw.url}/api/codex/run`, { prompt: 'run please', model: 'auto' })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { events: CodexEvent[]; final_response: string | null }
    expect(body.final_response).toBe('the final answer')
    expect(body.events[0]?.type).toBe('thread.started')
    expect(body.events.at(-1)?.type).toBe('turn.completed')
    expect(mock.lastUserText(mock.requests[0]!)).toContain('run please')
  })

  it("null for model, sandbox and working_directory means absent, as the seed's own page sends them", async () => {
    // index.html sends `model: ... || null` and `working_directory: ... || null` for boxes left empty
    mock.script({ kind: 'text', text: 'from the page' }, { kind: 'text', text: 'streamed from the page' })
    const page = { prompt: 'from the page', model: null, working_directory: null, skip_git_repo_check: true }
    const run = await postJson(`${gw.url}/api/codex/run`, { ...page, sandbox: 'workspace-write' })
    expect(run.status).toBe(200)
    expect(((await run.json()) as { final_response: string }).final_response).toBe('from the page')
    const stream = await postJson(`${gw.url}/api/codex/stream`, { ...page, sandbox: null })
    expect(stream.status).toBe(200)
    expect(sseData(await stream.text()).find((e) => e.item?.type === 'agent_message')?.item?.text).toBe(
      'streamed from the page',
    )
  })

  it("codex failing after its events: codex's own turn.failed, and an error event only for what its stderr said, as the original", async () => {
    // codex exec --json reports a model error on stdout (error, turn.failed) and exits 1, its stderr mostly empty
    // (a bare newline at times): the original added "Codex process failed: <stderr>" only when stderr held
    // something (readable-errors.test.ts), never one of its own words such as an exit code
    mock.setDefault({ kind: 'http_error', status: 400, body: '{"error":{"message":"model says no"}}' })
    type Event = { type: string; message?: string }
    /** The events before the gateway's own "Codex process failed" (the last one, if any), and that one's message. */
    const split = (events: Event[]) => {
      const added = events.at(-1)?.message?.startsWith('Codex process failed') ? events.at(-1) : undefined
      return { codex: added ? events.slice(0, -1) : events, added: added?.message }
    }
    const stream = await postJson(`${gw.url}/api/codex/stream`, { prompt: 'fail please' })
    expect(stream.status).toBe(200)
    const streamed = split(sseData(await stream.text()) as Event[])
    expect(streamed.codex[0]?.type).toBe('thread.started')
    expect(streamed.codex.at(-1)?.type, JSON.stringify(streamed)).toBe('turn.failed')
    expect(streamed.added ?? '').not.toMatch(/exit code/)
    const run = await postJson(`${gw.url}/api/codex/run`, { prompt: 'fail please' })
    expect(run.status).toBe(200)
    const body = (await run.json()) as { events: Event[]; final_response: null }
    expect(body.final_response).toBeNull()
    const ran = split(body.events)
    expect(ran.codex.at(-1)?.type, JSON.stringify(ran)).toBe('turn.failed')
    expect(ran.added ?? '').not.toMatch(/exit code/)
  })

  it('an exec_command step with sandbox workspace-write gives a command_execution item', async () => {
    mock.script(
      { kind: 'exec_command', cmd: 'echo wrote > made.txt && echo done' },
      { kind: 'text', text: 'ok' },
    )
    const res = await postJson(`${gw.url}/api/codex/run`, {
      prompt: 'make a file',
      sandbox: 'workspace-write',
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { events: CodexEvent[]; final_response: string | null }
    const command = body.events.find(
      (e) => e.type === 'item.completed' && e.item?.type === 'command_execution',
    )
    expect(command?.item?.command).toContain('echo wrote > made.txt')
    expect(body.final_response).toBe('ok')
    expect(existsSync(path.join(gw.workspace, 'made.txt'))).toBe(true)
  })

  it('without a sandbox the default CODEX_SANDBOX (read-only) stops a command from writing', async () => {
    mock.script({ kind: 'exec_command', cmd: 'echo nope > blocked.txt' }, { kind: 'text', text: 'tried' })
    const res = await postJson(`${gw.url}/api/codex/run`, { prompt: 'try to write' })
    expect(((await res.json()) as { final_response: string }).final_response).toBe('tried')
    // codex ran the command and sent its output back (it does not always report a command_execution
    // item for a command the sandbox refused, so the item is not asserted here).
    expect(mock.requests).toHaveLength(2)
    expect(existsSync(path.join(gw.workspace, 'blocked.txt'))).toBe(false)
  })

  it('closing the SSE connection mid-stream ends the codex process group', async () => {
    mock.script({ kind: 'text', text: 'never', delayMs: 30_000 })
    const res = await postJson(`${gw.url}/api/codex/stream`, { prompt: 'hang' })
    const reader = res.body!.getReader()
    await reader.read()
    await waitFor(() => processesUnder(gw.workspace).length > 0)
    // The model request must reach the mock inside this test: arriving after the reset, it was counted
    // against the next test's "nothing was sent".
    await waitFor(() => mock.requests.length > 0)
    await reader.cancel()
    expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
  })

  it("images (the original's paths for codex exec --image) reach the model, read from a private copy", async () => {
    // a 1x1 PNG in a subdirectory, named relative to working_directory as /v1's images are relative to cwd; a
    // comma in its name (codex splits an --image value at commas: its copy's name has none)
    mkdirSync(path.join(gw.workspace, 'pics'), { recursive: true })
    writeFileSync(path.join(gw.workspace, 'pics', 'd,ot.png'), png)
    mock.script({ kind: 'text', text: 'a dot' })
    const res = await postJson(`${gw.url}/api/codex/run`, {
      prompt: 'what is in the picture?',
      working_directory: 'pics',
      images: ['d,ot.png'],
    })
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect((JSON.parse(text) as { final_response: string }).final_response).toBe('a dot')
    const sent = JSON.stringify(mock.requests.at(-1)?.body)
    expect(sent).toContain('input_image')
    expect(sent).toContain(`data:image/png;base64,${png.toString('base64')}`)
    // the copy codex read is gone once the run ended
    expect(readdirSync(path.join(gw.env.DATA_DIR as string, 'run-images'))).toEqual([])
  })

  it("output_schema reaches codex as the original's --output-schema: the model is asked for that JSON, from a file gone after the run", async () => {
    // a reference within the schema (#/$defs/...) reaches codex as it is; so does a `$ref` that is data (an enum's)
    const schema = {
      type: 'object',
      properties: { greeting: { $ref: '#/$defs/word' }, note: { enum: [{ $ref: 'elsewhere.json' }] } },
      required: ['greeting'],
      additionalProperties: false,
      $defs: { word: { type: 'string' } },
    }
    const staged = () =>
      readdirSync(tmpdir()).filter((n) => n.startsWith(`agent-gateway-staged-${process.pid}-`))
    mock.script({ kind: 'text', text: '{"greeting":"hi"}' })
    // approval_policy: any string, as the original's `str`, and ignored, as the original ignored it
    const res = await postJson(`${gw.url}/api/codex/run`, {
      prompt: 'structured please',
      output_schema: schema,
      approval_policy: 'no-such-policy',
    })
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect((JSON.parse(text) as { final_response: string }).final_response).toBe('{"greeting":"hi"}')
    /** The response format codex asked the model for in its last request. */
    const format = () =>
      (mock.requests.at(-1)?.body as { text?: { format?: unknown } } | undefined)?.text?.format
    expect(format()).toMatchObject({ type: 'json_schema', schema })
    // the file codex read was private to the run and is gone with it
    expect(staged()).toEqual([])
    // the durable run kept the schema and succeeded: codex and the model held the answer to it, as in the
    // original, where the gateway's own check of a final response does not apply (codex's JSONL is the output)
    const [stored] = ((await (await fetch(`${gw.url}/v1/runs?limit=1`)).json()) as { runs: Run[] }).runs
    expect(stored).toMatchObject({ origin: 'POST /api/codex/run', status: 'succeeded' })
    expect(stored?.request.outputSchema).toEqual(schema)
  })

  it("GET /health answers the original's fields first: status, then service", async () => {
    const res = await fetch(`${gw.url}/health`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toMatchObject({ status: 'healthy', service: 'codex-streaming-api' })
    expect(Object.keys(body).slice(0, 2)).toEqual(['status', 'service'])
  })

  it('a body without a content-type is JSON, and a boolean may be a word, as FastAPI and pydantic took them', async () => {
    mock.script({ kind: 'text', text: 'no content-type' })
    // a Blob without a type: fetch sends no content-type (Python's requests with data=json.dumps(...) neither)
    const body = new Blob([JSON.stringify({ prompt: 'plain body', skip_git_repo_check: 'Yes' })])
    const res = await fetch(`${gw.url}/api/codex/run`, { method: 'POST', body })
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect((JSON.parse(text) as { final_response: string }).final_response).toBe('no content-type')
    expect(mock.lastUserText(mock.requests[0]!)).toContain('plain body')
  })

  describe("bodies the original's model refused: FastAPI's 422 with pydantic's errors, nothing spawned", () => {
    const missing = (input: unknown) => ({
      type: 'missing',
      loc: ['body', 'prompt'],
      msg: 'Field required',
      input,
    })
    const cases: [string, string, { body: string; type?: string }, unknown[]][] = [
      ['missing prompt', 'stream', { body: '{"model":"gpt-5-codex"}' }, [missing({ model: 'gpt-5-codex' })]],
      [
        'every wrong field, in field order',
        'run',
        {
          body: JSON.stringify({
            output_schema: [],
            prompt: 7,
            images: ['a.png', 3],
            skip_git_repo_check: 'maybe',
            model: false,
          }),
        },
        [
          { type: 'string_type', loc: ['body', 'prompt'], msg: 'Input should be a valid string', input: 7 },
          {
            type: 'bool_parsing',
            loc: ['body', 'skip_git_repo_check'],
            msg: 'Input should be a valid boolean, unable to interpret input',
            input: 'maybe',
          },
          {
            type: 'string_type',
            loc: ['body', 'images', 1],
            msg: 'Input should be a valid string',
            input: 3,
          },
          {
            type: 'string_type',
            loc: ['body', 'model'],
            msg: 'Input should be a valid string',
            input: false,
          },
          {
            type: 'dict_type',
            loc: ['body', 'output_schema'],
            msg: 'Input should be a valid dictionary',
            input: [],
          },
        ],
      ],
      [
        'null for a bool, a string for a list',
        'run',
        { body: '{"prompt":"x","skip_git_repo_check":null,"images":"a.png"}' },
        [
          {
            type: 'bool_type',
            loc: ['body', 'skip_git_repo_check'],
            msg: 'Input should be a valid boolean',
            input: null,
          },
          { type: 'list_type', loc: ['body', 'images'], msg: 'Input should be a valid list', input: 'a.png' },
        ],
      ],
      [
        'malformed JSON',
        'stream',
        { body: '{"prompt": "x",}' },
        [
          {
            type: 'json_invalid',
            loc: ['body', 15],
            msg: 'JSON decode error',
            input: {},
            ctx: { error: 'Expecting property name enclosed in double quotes' },
          },
        ],
      ],
      [
        'an empty body',
        'run',
        { body: '' },
        [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }],
      ],
      [
        'JSON null',
        'run',
        { body: 'null' },
        [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }],
      ],
      [
        'a JSON array',
        'stream',
        { body: '["x"]' },
        [
          {
            type: 'model_attributes_type',
            loc: ['body'],
            msg: 'Input should be a valid dictionary or object to extract fields from',
            input: ['x'],
          },
        ],
      ],
      [
        'JSON sent as text/plain (FastAPI kept it as bytes)',
        'run',
        { body: '{"prompt":"x"}', type: 'text/plain' },
        [
          {
            type: 'model_attributes_type',
            loc: ['body'],
            msg: 'Input should be a valid dictionary or object to extract fields from',
            input: '{"prompt":"x"}',
          },
        ],
      ],
    ]
    for (const [name, route, sent, detail] of cases) {
      it(`${name} (${route})`, async () => {
        // what an earlier test's codex left a moment past its run (its shell snapshot's `bash -lc`, a session of its
        // own, swept by marker) is not this request's
        expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
        const before = mock.requests.length
        const res = await postJson(`${gw.url}/api/codex/${route}`, sent.body, {
          'content-type': sent.type ?? 'application/json',
        })
        const text = await res.text()
        expect(res.status, text).toBe(422)
        expect(res.headers.get('content-type')).toBe('application/json')
        expect(JSON.parse(text)).toEqual({ detail })
        expect(processesUnder(gw.workspace)).toEqual([])
        expect(mock.requests.length).toBe(before)
      })
    }
  })

  describe("what only the gateway refuses: 400 in the route's shape, with a clear message, nothing spawned", () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['empty prompt', 'run', { prompt: '' }, /prompt/],
      [
        'working_directory outside the workspace',
        'stream',
        { prompt: 'x', working_directory: '/tmp' },
        /outside the workspace/,
      ],
      [
        'working_directory outside the workspace',
        'run',
        { prompt: 'x', working_directory: '/etc' },
        /outside the workspace/,
      ],
      ['unknown sandbox', 'run', { prompt: 'x', sandbox: 'none' }, /sandbox/],
      [
        'an image outside the workspace',
        'run',
        { prompt: 'x', images: ['/etc/hostname'] },
        /image "\/etc\/hostname" is outside the workspace roots/,
      ],
      [
        'an image that does not exist',
        'stream',
        { prompt: 'x', images: ['missing.png'] },
        /image "missing\.png" is outside the workspace roots or does not exist/,
      ],
      [
        'more than 16 images (as /v1 runs)',
        'run',
        { prompt: 'x', images: Array.from({ length: 17 }, (_, i) => `${i}.png`) },
        /at most 16 images/,
      ],
      [
        'an image through a symlink out of the workspace',
        'stream',
        { prompt: 'x', images: ['link-out.png'] },
        /image "link-out\.png" is outside the workspace roots/,
      ],
      [
        'an output_schema longer than 128 KiB as JSON',
        'stream',
        { prompt: 'x', output_schema: { description: 'x'.repeat(128 * 1024) } },
        /output_schema is 131090 characters as JSON; at most 131072/,
      ],
      // codex sent such a schema as it was to the model provider (which would resolve it, or refuse it): before,
      // codex ran with it; no file is read by codex or the gateway either way
      [
        'an output_schema $ref to a file',
        'run',
        { prompt: 'x', output_schema: { type: 'object', properties: { a: { $ref: 'file:///etc/passwd' } } } },
        /^output_schema\.properties\.a\.\$ref "file:\/\/\/etc\/passwd" points outside the schema: only references within it \(starting with #, such as #\/\$defs\/name\) are accepted$/,
      ],
      [
        'an output_schema $ref to a path outside the workspace, in a list',
        'stream',
        { prompt: 'x', output_schema: { anyOf: [{ type: 'string' }, { $ref: '../../../etc/passwd' }] } },
        /^output_schema\.anyOf\[1\]\.\$ref "\.\.\/\.\.\/\.\.\/etc\/passwd" points outside the schema/,
      ],
      [
        'an output_schema $ref to a URL, at its root',
        'run',
        { prompt: 'x', output_schema: { $ref: 'http://127.0.0.1:9/schema.json' } },
        /^output_schema\.\$ref "http:\/\/127\.0\.0\.1:9\/schema\.json" points outside the schema/,
      ],
      // The seed: "/api/codex/run - Standard REST endpoint", "Request Body: Same as /api/codex/stream", and of
      // "Structured Output" only "Support for JSON schema output validation"; its original's `output_schema:
      // Optional[Dict[str, Any]]` went to `codex exec --output-schema`, so a dict that is no JSON Schema ran codex,
      // whose model provider refused it mid-run (the mock takes anything: the run succeeded). Now refused before.
      [
        'an output_schema that is no JSON Schema (a type that does not exist)',
        'run',
        { prompt: 'x', output_schema: { type: 'nonsense' } },
        /^output_schema is not a valid JSON Schema: output_schema\/type must be equal to one of the allowed values/,
      ],
      [
        'an output_schema that is no JSON Schema (properties not an object)',
        'stream',
        { prompt: 'x', output_schema: { type: 'object', properties: 5 } },
        /^output_schema is not a valid JSON Schema: output_schema\/properties must be object$/,
      ],
      [
        'danger-full-access without ALLOW_DANGER_FULL_ACCESS',
        'stream',
        { prompt: 'x', sandbox: 'danger-full-access' },
        /ALLOW_DANGER_FULL_ACCESS/,
      ],
    ]
    for (const [name, route, body, message] of cases) {
      it(`${name} (${route})`, async () => {
        if (!existsSync(path.join(gw.workspace, 'link-out.png')))
          symlinkSync('/etc/hostname', path.join(gw.workspace, 'link-out.png'))
        // an earlier test's leftovers a moment past its run are not this request's (as above)
        expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
        const before = mock.requests.length
        const res = await postJson(`${gw.url}/api/codex/${route}`, body)
        expect(res.status).toBe(400)
        expect(res.headers.get('content-type')).toBe('application/json')
        // FastAPI's HTTPException body, as the original's errors: {detail} and nothing else
        const error = (await res.json()) as { detail: string }
        expect(Object.keys(error)).toEqual(['detail'])
        expect(error.detail).toMatch(message)
        expect(processesUnder(gw.workspace)).toEqual([])
        expect(mock.requests.length).toBe(before)
      })
    }
  })
})

describe('TIMEOUT_SECONDS on seed 002', () => {
  it('the stream ends with an error event, /run answers 408, and no codex process survives', async () => {
    const mock = await startMockLlm()
    const gw = await startGateway(mock, { TIMEOUT_SECONDS: '1' })
    try {
      mock.script({ kind: 'text', text: 'too slow', delayMs: 30_000 })
      const events = sseData(await (await postJson(`${gw.url}/api/codex/stream`, { prompt: 'slow' })).text())
      expect(events.at(-1)).toEqual({ type: 'error', message: 'timed out after 1s' })
      expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])

      mock.script({ kind: 'text', text: 'too slow', delayMs: 30_000 })
      const res = await postJson(`${gw.url}/api/codex/run`, { prompt: 'slow' })
      expect(res.status).toBe(408)
      expect(await res.json()).toEqual({ detail: expect.stringMatching(/TIMEOUT_SECONDS/) })
      expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
    } finally {
      await gw.close()
      await mock.close()
    }
  })
})

describe('shutdown on seed 002', () => {
  it('ends a running stream with an error event and leaves no codex process; SSE_KEEPALIVE_SECONDS comments before', async () => {
    const mock = await startMockLlm()
    const gw = await startGateway(mock, { SHUTDOWN_GRACE_SECONDS: '0', SSE_KEEPALIVE_SECONDS: '1' })
    let closed: Promise<void> | undefined
    try {
      // codex silent for 8 s: the stream says `: keep-alive` every SSE_KEEPALIVE_SECONDS meanwhile (a comment,
      // which SSE readers skip; the original sent none), and the close comes after the first one
      mock.script({ kind: 'text', text: 'too late', delayMs: 8_000 })
      const res = await postJson(`${gw.url}/api/codex/stream`, { prompt: 'hang' })
      const reader = res.body!.getReader()
      const decoder = new TextDecoder()
      let text = ''
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        text += decoder.decode(r.value, { stream: true })
        if (!closed && text.includes('thread.started') && text.includes(': keep-alive\n\n'))
          closed = gw.close()
      }
      await closed
      const events = sseData(text)
      expect(events[0]?.type).toBe('thread.started')
      expect(events.at(-1)).toEqual({
        type: 'error',
        message: 'the server is shutting down; codex was ended',
      })
      expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
    } finally {
      await (closed ?? gw.close())
      await mock.close()
    }
  })
})

describe('codex stdout lines', () => {
  it('a line split across chunks is joined before parsing', () => {
    const lines = new LineSplitter()
    expect(lines.push('{"type":"thread.st')).toEqual([])
    expect(lines.push('arted"}\n{"type":')).toEqual(['{"type":"thread.started"}'])
    expect(lines.push('"turn.started"}\r\n\n{"a"')).toEqual(['{"type":"turn.started"}', ''])
    expect(lines.end()).toEqual(['{"a"'])
    expect(lines.end()).toEqual([])
  })

  it('cuts a runaway line into pieces', () => {
    const lines = new LineSplitter(4)
    expect(lines.push('abcdefghij')).toEqual(['abcd', 'efgh'])
    expect(lines.push('k\n')).toEqual(['ijk'])
  })

  it('keeps JSON objects verbatim, wraps anything else as agent.raw, skips blank lines', () => {
    expect(parseCodexLine('{"type": "x"}')).toEqual({ json: '{"type": "x"}', event: { type: 'x' } })
    expect(parseCodexLine('not json')).toEqual({
      json: '{"type":"agent.raw","line":"not json"}',
      event: { type: 'agent.raw', line: 'not json' },
    })
    expect(parseCodexLine('[1]')?.event).toEqual({ type: 'agent.raw', line: '[1]' })
    expect(parseCodexLine('  ')).toBeNull()
  })
})

describe('SSE encoding', () => {
  it('frames id, event and data; strings as-is, other values as JSON, line breaks split into data lines', () => {
    expect(encodeSse({ data: '{"type":"x"}' })).toBe('data: {"type":"x"}\n\n')
    expect(encodeSse({ id: 3, event: 'run\nevent', data: { a: 1 } })).toBe(
      'id: 3\nevent: run event\ndata: {"a":1}\n\n',
    )
    expect(encodeSse({ data: 'one\ntwo' })).toBe('data: one\ndata: two\n\n')
  })
})
