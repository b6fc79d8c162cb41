import { mkdirSync, symlinkSync } from 'node:fs'
import path from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { waitFor } from '../contract/driver-contract.js'
import { held, type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  gatewayModules,
  postJson,
  readNdjson,
  sharedGateway,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

const execArgs = (prompt: string) => ['exec', '--json', '--skip-git-repo-check', prompt]

/** Seed 001 (codex.serve) over real sockets with the real codex. */
describe('POST /run (seed 001)', () => {
  const shared = sharedGateway()
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => ({ mock, gw } = shared))

  it('streams codex JSONL as stdout frames, then exit 0', async () => {
    mock.script({ kind: 'text', text: 'streamed answer' })
    const res = await postJson(`${gw.url}/run`, { cli: 'codex', args: execArgs('stream please') })
    expect(res.status).toBe(200)
    // Starlette's StreamingResponse(media_type="application/x-ndjson") names no charset
    expect(res.headers.get('content-type')).toBe('application/x-ndjson')
    const frames = await readNdjson(res)
    expect(frames.at(-1)).toEqual({ type: 'exit', code: 0 })
    for (const f of frames.slice(0, -1)) expect(['stdout', 'stderr']).toContain(f.type)
    const jsonl = frames
      .filter((f) => f.type === 'stdout')
      .map((f) => f.data)
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; item?: { type: string; text?: string } })
    expect(jsonl[0]?.type).toBe('thread.started')
    expect(jsonl.find((e) => e.item?.type === 'agent_message')?.item?.text).toBe('streamed answer')
    expect(mock.lastUserText(mock.requests[0]!)).toContain('stream please')
    // CODEX_MODEL applies to /run too, unless the request's args choose a model.
    expect((mock.requests[0]!.body as { model: string }).model).toBe('gpt-5.5')
  })

  it('a --model in the request args wins over CODEX_MODEL', async () => {
    mock.script({ kind: 'text', text: 'other model' })
    const args = ['exec', '--json', '--skip-git-repo-check', '--model', 'gpt-5.6-luna', 'x']
    const frames = await readNdjson(await postJson(`${gw.url}/run`, { cli: 'codex', args }))
    expect(frames.at(-1)).toEqual({ type: 'exit', code: 0 })
    expect((mock.requests[0]!.body as { model: string }).model).toBe('gpt-5.6-luna')
  })

  it("the seed's own example (no subcommand, prompt on stdin) runs as its CLI image ran it: codex exec", async () => {
    // README: {"cli": "codex", "args": ["--model", "gpt-4"], "stdin": "Prompt text..."}; its Gerrit plugin sends
    // the same shape. Without a terminal codex cannot start its UI: the seed's image ran `codex exec` instead.
    mock.script({ kind: 'text', text: 'from the example' })
    const res = await postJson(`${gw.url}/run`, {
      cli: 'codex',
      args: ['--model', 'gpt-4'],
      stdin: 'Prompt text from the README',
    })
    expect(res.status).toBe(200)
    const frames = await readNdjson(res)
    expect(frames.at(-1)).toEqual({ type: 'exit', code: 0 })
    expect(
      frames
        .filter((f) => f.type === 'stdout')
        .map((f) => f.data)
        .join(''),
    ).toContain('from the example')
    expect(mock.lastUserText(mock.requests[0]!)).toContain('Prompt text from the README')
    expect((mock.requests[0]!.body as { model: string }).model).toBe('gpt-4')
  })

  it('passes stdin as the prompt and closes it', async () => {
    mock.script({ kind: 'text', text: 'from stdin' })
    const res = await postJson(`${gw.url}/run`, {
      cli: 'codex',
      args: ['exec', '--json', '--skip-git-repo-check', '-'],
      stdin: 'prompt through stdin',
    })
    const frames = await readNdjson(res)
    expect(frames.at(-1)).toEqual({ type: 'exit', code: 0 })
    expect(mock.lastUserText(mock.requests[0]!)).toContain('prompt through stdin')
  })

  it('flushes frames as they happen (the first frame arrives before the run ends)', async () => {
    // the answer is held back: whatever arrives before release() was sent while the run was still going
    const answer = held({ kind: 'text', text: 'late' })
    mock.script(answer.step)
    const firstFrame = (async () => {
      const res = await postJson(`${gw.url}/run`, { cli: 'codex', args: execArgs('slowly') })
      const reader = res.body!.getReader()
      return { reader, first: await reader.read() }
    })()
    // (a route that buffered to the end would send nothing while the answer is held: fail, not hang)
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no frame before the model answered')), 30_000).unref(),
    )
    const { reader, first } = await Promise.race([firstFrame, timeout])
    expect(first.done).toBe(false)
    answer.release()
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += new TextDecoder().decode(r.value)
    expect(rest).toContain('"type":"exit"')
    expect(rest).toContain('late')
  })

  it('a model error ends with codex non-zero exit code', async () => {
    mock.script({ kind: 'http_error', status: 400, body: '{"error":{"message":"bad"}}' })
    const frames = await readNdjson(await postJson(`${gw.url}/run`, { cli: 'codex', args: execArgs('x') }))
    const exit = frames.at(-1)
    expect(exit?.type).toBe('exit')
    expect(exit?.code).not.toBe(0)
  })

  it('closing the connection mid-stream ends the codex process group', async () => {
    mock.script({ kind: 'text', text: 'never', delayMs: 30_000 })
    const res = await postJson(`${gw.url}/run`, { cli: 'codex', args: execArgs('hang') })
    const reader = res.body!.getReader()
    await reader.read()
    await waitFor(() => processesUnder(gw.workspace).length > 0)
    await reader.cancel()
    expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
  })

  it("each stdout frame is one line with its newline, as the original's (not the process's write chunks)", async () => {
    // `codex --help` writes many lines at once: the original split them into one frame per line
    const frames = await readNdjson(await postJson(`${gw.url}/run`, { cli: 'codex', args: ['--help'] }))
    expect(frames.at(-1)).toEqual({ type: 'exit', code: 0 })
    const stdout = frames.filter((f) => f.type === 'stdout').map((f) => f.data as string)
    expect(stdout.length).toBeGreaterThan(10)
    for (const line of stdout) expect(line).toMatch(/^[^\n]*\n$/)
    expect(stdout.join('')).toContain('Usage: codex')
  })

  it('env, stdin and cwd sent as null count as absent (pydantic Optional)', async () => {
    mock.script({ kind: 'text', text: 'nulls are fine' })
    const res = await postJson(`${gw.url}/run`, {
      cli: 'codex',
      args: execArgs('null fields'),
      env: null,
      stdin: null,
      cwd: null,
    })
    expect(res.status).toBe(200)
    expect((await readNdjson(res)).at(-1)).toEqual({ type: 'exit', code: 0 })
  })

  it('GET /clis and GET /models answer in the seed shapes', async () => {
    const clis = await fetch(`${gw.url}/clis`)
    // FastAPI's JSONResponse: `application/json`, no charset (errors too)
    expect(clis.headers.get('content-type')).toBe('application/json')
    expect(await clis.json()).toEqual({ clis: ['codex'], count: 1 })
    const refused = await postJson(`${gw.url}/run`, { cli: 'bash', args: [] })
    expect([refused.status, refused.headers.get('content-type')]).toEqual([400, 'application/json'])
    expect(await (await fetch(`${gw.url}/models`)).json()).toEqual({ models: ['auto'], count: 1 })
  })

  it('HEAD /clis and HEAD /models: 405 with Allow: GET, as the FastAPI original answers', async () => {
    // its `@app.get` routes take GET alone; here they answered HEAD 200
    for (const path of ['/clis', '/models']) {
      const res = await fetch(`${gw.url}${path}`, { method: 'HEAD' })
      expect([res.status, res.headers.get('allow')], path).toEqual([405, 'GET'])
    }
  })

  describe('bad input: 4xx with a clear message and nothing spawned', () => {
    // what only the gateway refuses is a 400 (a 413 for size) in the original's FastAPI shape, `{"detail": "..."}`
    const cases: [string, unknown, number, RegExp][] = [
      [
        'cwd outside the roots',
        { cli: 'codex', args: execArgs('x'), cwd: '/etc' },
        400,
        /outside the workspace/,
      ],
      [
        'bypass flag',
        { cli: 'codex', args: ['exec', '--dangerously-bypass-approvals-and-sandbox', 'x'] },
        400,
        /RUN_ALLOW_UNSAFE_ARGS/,
      ],
      [
        'provider override',
        { cli: 'codex', args: ['-c', 'model_provider="evil"', 'exec', 'x'] },
        400,
        /model settings/,
      ],
      ['codex sandbox subcommand', { cli: 'codex', args: ['sandbox', 'linux', 'sh'] }, 400, /subcommand/],
      [
        'LD_PRELOAD env',
        { cli: 'codex', args: execArgs('x'), env: { LD_PRELOAD: '/tmp/x.so' } },
        400,
        /LD_PRELOAD/,
      ],
      [
        'NODE_OPTIONS env',
        { cli: 'codex', args: execArgs('x'), env: { NODE_OPTIONS: '--require x' } },
        400,
        /NODE_OPTIONS/,
      ],
      // Issue 9 item 2: env that redirects the agent's traffic or trust, in any spelling.
      [
        'HTTP_PROXY env',
        { cli: 'codex', args: execArgs('x'), env: { HTTP_PROXY: 'http://127.0.0.1:9' } },
        400,
        /RUN_ALLOW_ENV=HTTP_PROXY/,
      ],
      [
        'http_proxy env',
        { cli: 'codex', args: execArgs('x'), env: { http_proxy: 'http://127.0.0.1:9' } },
        400,
        /RUN_ALLOW_ENV=http_proxy/,
      ],
      [
        'OPENAI_BASE_URL env',
        { cli: 'codex', args: execArgs('x'), env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' } },
        400,
        /traffic/,
      ],
      [
        'SSL_CERT_FILE env',
        { cli: 'codex', args: execArgs('x'), env: { SSL_CERT_FILE: '/tmp/ca.pem' } },
        400,
        /trusts/,
      ],
      ['Path env', { cli: 'codex', args: execArgs('x'), env: { Path: '/tmp' } }, 400, /RUN_ALLOW_ENV=Path/],
      // Issue 9 item 7: codex's grammar, allowlisted.
      ['exec resume --last', { cli: 'codex', args: ['exec', 'resume', '--last'] }, 400, /another session/],
      ['--enable', { cli: 'codex', args: ['exec', '--enable', 'web_search', 'x'] }, 400, /features/],
      ['--profile', { cli: 'codex', args: ['exec', '-p', 'other', 'x'] }, 400, /RUN_ALLOW_UNSAFE_ARGS/],
      ['-c features', { cli: 'codex', args: ['exec', '-c', 'features.x=true', 'x'] }, 400, /model settings/],
      ['oversized body', { cli: 'codex', args: execArgs('x'.repeat(2_000_000)) }, 413, /BODY_LIMIT_BYTES/],
    ]
    for (const [name, body, status, message] of cases) {
      it(name, async () => {
        const before = mock.requests.length
        const res = await postJson(`${gw.url}/run`, body)
        expect(res.status).toBe(status)
        const answer = (await res.json()) as Record<string, unknown>
        expect(Object.keys(answer)).toEqual(['detail'])
        expect(answer.detail).toMatch(message)
        expect(processesUnder(gw.workspace)).toEqual([])
        expect(mock.requests.length).toBe(before)
      })
    }

    /**
     * The seed (001) defines `POST /run`'s request, "{"cli": "codex", "args": ["--model", "gpt-4"], "stdin":
     * "Prompt text..."}", "`env` is optional", and of its errors only the timeout's frames; the rest is its
     * original's, codex.serve's `codex_serve.py`, a FastAPI app: `class RunRequest(BaseModel): cli: str; args:
     * List[str]; stdin: str; env: Optional[Dict[str, str]] = None`, refused by FastAPI as its 422 `{"detail":
     * [...]}`, and `if req.cli not in CLI_LIST: raise HTTPException(status_code=400, detail=f"Unsupported CLI:
     * {req.cli}")`. The gateway answered both as 400 `{error, code}`. Its Gerrit client reads only the status of an
     * error answer (a JSON line without `type` is skipped), so the body is the original's, nothing more.
     */
    const refusals: [string, string, number, unknown][] = [
      ['a cli not in CLI_LIST', '{"cli":"bash","args":["-c","id"],"stdin":""}', 400, 'Unsupported CLI: bash'],
      ['an empty cli', '{"cli":"","args":[]}', 400, 'Unsupported CLI: '],
      [
        'malformed JSON',
        '{"cli": "codex", ',
        422,
        [
          {
            type: 'json_invalid',
            loc: ['body', 17],
            msg: 'JSON decode error',
            input: {},
            ctx: { error: 'Expecting property name enclosed in double quotes' },
          },
        ],
      ],
      [
        'every wrong field, in field order',
        '{"env":{"A":1},"args":"exec","cli":7,"stdin":false}',
        422,
        [
          { type: 'string_type', loc: ['body', 'cli'], msg: 'Input should be a valid string', input: 7 },
          { type: 'list_type', loc: ['body', 'args'], msg: 'Input should be a valid list', input: 'exec' },
          {
            type: 'string_type',
            loc: ['body', 'stdin'],
            msg: 'Input should be a valid string',
            input: false,
          },
          { type: 'string_type', loc: ['body', 'env', 'A'], msg: 'Input should be a valid string', input: 1 },
        ],
      ],
      [
        'cli missing, an arg not a string',
        '{"args":["exec",3]}',
        422,
        [
          { type: 'missing', loc: ['body', 'cli'], msg: 'Field required', input: { args: ['exec', 3] } },
          { type: 'string_type', loc: ['body', 'args', 1], msg: 'Input should be a valid string', input: 3 },
        ],
      ],
      ['no body', '', 422, [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]],
    ]
    for (const [name, body, status, detail] of refusals) {
      it(`the original's refusal: ${name}`, async () => {
        const before = mock.requests.length
        const res = await fetch(`${gw.url}/run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
        expect(res.status).toBe(status)
        expect(res.headers.get('content-type')).toBe('application/json')
        expect(await res.json()).toEqual({ detail })
        expect(processesUnder(gw.workspace)).toEqual([])
        expect(mock.requests.length).toBe(before)
      })
    }

    it('the cli agent of /v1/runs applies the same argument and env policy', async () => {
      const before = mock.requests.length
      for (const [command, message] of [
        [{ cli: 'codex', args: ['exec', 'resume', '--last'] }, /another session.*RUN_ALLOW_UNSAFE_ARGS/],
        [
          { cli: 'codex', args: execArgs('x'), env: { https_proxy: 'http://127.0.0.1:9' } },
          /RUN_ALLOW_ENV=https_proxy/,
        ],
      ] as const) {
        const res = await postJson(`${gw.url}/v1/runs`, { agent: 'cli', command })
        expect(res.status).toBe(400)
        expect(await res.text()).toMatch(message)
      }
      expect(mock.requests.length).toBe(before)
    })

    it('cwd escaping through a symlink inside the workspace', async () => {
      const outside = tempDir('outside-')
      const link = path.join(gw.workspace, 'escape')
      symlinkSync(outside, link)
      const res = await postJson(`${gw.url}/run`, { cli: 'codex', args: execArgs('x'), cwd: 'escape' })
      expect(res.status).toBe(400)
      expect(await res.text()).toMatch(/outside the workspace/)
    })

    it('cwd inside the workspace is accepted', async () => {
      mkdirSync(path.join(gw.workspace, 'project'), { recursive: true })
      mock.script({ kind: 'text', text: 'in project' })
      const res = await postJson(`${gw.url}/run`, { cli: 'codex', args: execArgs('x'), cwd: 'project' })
      expect((await readNdjson(res)).at(-1)).toEqual({ type: 'exit', code: 0 })
    })
  })
})

describe('RUN_RESPONSE_TIMEOUT_SECONDS (and CLI_LIST as GET /clis lists it)', () => {
  gatewayModules()
  it('ends the stream with the timeout message and exit 124, and no codex process survives', async () => {
    const mock = await startMockLlm()
    const gw = await startGateway(mock, {
      RUN_RESPONSE_TIMEOUT_SECONDS: '1',
      CLI_LIST: 'codex,claude,codex,nosuchcli',
    })
    try {
      // the original answered sorted(set(CLI_LIST))
      expect(await (await fetch(`${gw.url}/clis`)).json()).toEqual({
        clis: ['claude', 'codex', 'nosuchcli'],
        count: 3,
      })
      // a CLI_LIST entry not installed here refuses only its own runs (it refused every /run and /api/codex/* with
      // 503 "not installed: nosuchcli"); the original ran the others too
      const missing = await postJson(`${gw.url}/run`, { cli: 'nosuchcli', args: [] })
      expect([missing.status, await missing.json()]).toEqual([
        503,
        { detail: 'cli "nosuchcli" is in CLI_LIST but not installed on this server' },
      ])
      mock.script({ kind: 'text', text: 'too slow', delayMs: 30_000 })
      const frames = await readNdjson(
        await postJson(`${gw.url}/run`, { cli: 'codex', args: execArgs('slow') }),
      )
      expect(frames.slice(-2)).toEqual([
        // the original's float, as Python prints it
        { type: 'stderr', data: 'Request timed out while waiting for CLI response (1.0s).' },
        { type: 'exit', code: 124 },
      ])
      expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
    } finally {
      await gw.close()
      await mock.close()
    }
  })
})
