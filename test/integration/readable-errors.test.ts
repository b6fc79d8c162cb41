import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { held, type MockLlm } from '../mock-llm/index.js'
import { postJson, sharedGateway, startGateway, type TestGateway } from '../support/gateway.js'
import { readSse } from '../support/sse-client.js'
import { tempDir } from '../support/temp.js'

/** What a newcomer reads when something goes wrong: every failure reaches the client, in words. */
describe('readable errors', () => {
  const shared = sharedGateway()
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => ({ mock, gw } = shared))

  it('a cwd outside the workspace names the roots and the setting that adds one, on every route', async () => {
    const cases: [string, unknown][] = [
      ['/v1/runs', { prompt: 'hi', cwd: '/etc' }],
      ['/chat', { prompt: 'hi', cwd: '/etc' }],
      ['/run', { cli: 'codex', args: ['--version'], cwd: '/etc' }],
      ['/api/codex/run', { prompt: 'hi', working_directory: 'no-such-dir' }],
      ['/v1/sessions', { cwd: '/etc' }],
    ]
    for (const [route, body] of cases) {
      const res = await postJson(gw.url + route, body)
      expect(res.status, route).toBe(400)
      const text = await res.text()
      expect(text, route).toContain('WORKSPACE_ROOTS')
      expect(text, route).toContain(gw.workspace)
    }
  })

  it("codex's helper-binary warnings stay out of answers", async () => {
    mock.script({ kind: 'text', text: 'clean' })
    const chat = (await (await postJson(`${gw.url}/chat`, { prompt: 'hi' })).json()) as { stderr: string }
    expect(chat.stderr).not.toMatch(/PATH aliases|helper binaries/)
    const run = await (await postJson(`${gw.url}/run`, { cli: 'codex', args: ['exec', '--help'] })).text()
    expect(run).not.toMatch(/PATH aliases/)
  })

  it('a cancelled run says it was cancelled', async () => {
    // its answer never comes: it runs (codex asked the model) until the cancel
    const never = held({ kind: 'text', text: 'too late' })
    mock.script(never.step)
    const run = (await (await postJson(`${gw.url}/v1/runs`, { prompt: 'cancel me' })).json()) as Run
    await never.asked
    const cancelled = (await (
      await fetch(`${gw.url}/v1/runs/${run.id}/cancel`, { method: 'POST' })
    ).json()) as Run
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'cancelled' })
    expect(cancelled.error).toMatch(/^cancelled: the run was cancelled on request/)
  })

  describe("codex refusing to start reaches the client as the original's error event", () => {
    /** The original's answer when codex exits non-zero before any event: 200, one error event quoting stderr. */
    const failedEvent = (stderr: RegExp) => ({
      type: 'error',
      message: expect.stringMatching(new RegExp(`^Codex process failed: ${stderr.source}`, 's')),
    })

    it('skip_git_repo_check false outside a git repository: codex says why, on /run and the stream', async () => {
      mkdirSync(path.join(gw.workspace, 'plain'), { recursive: true })
      const body = { prompt: 'hi', working_directory: 'plain', skip_git_repo_check: false }
      const res = await postJson(`${gw.url}/api/codex/run`, body)
      const text = await res.text()
      expect(res.status, text).toBe(200)
      expect(JSON.parse(text)).toEqual({
        events: [failedEvent(/.*skip-git-repo-check/)],
        final_response: null,
      })
      const stream = await postJson(`${gw.url}/api/codex/stream`, body)
      expect(stream.status).toBe(200)
      const frames = (await readSse(stream)).map((f) => JSON.parse(f.data))
      expect(frames).toEqual([failedEvent(/.*skip-git-repo-check/)])
      // the cancelled run of the test before may still send its model request: count only this test's
      expect(mock.requests.filter((r) => !JSON.stringify(r).includes('cancel me'))).toHaveLength(0)
    })

    it('a codex that fails before emitting anything: 200 with its stderr in the error event', async () => {
      // a CODEX_HOME whose config codex cannot read: it exits before its first event, like any refusal to start
      const home = tempDir('broken-codex-home-')
      writeFileSync(path.join(home, 'config.toml'), 'this is = = not toml\n')
      // with a token, so that seed 002's CORS applies: a streamed answer says Allow-Origin too (seed-cors.ts)
      const broken = await startGateway(mock, { CODEX_HOME: home, API_TOKENS: 'broken-token' })
      const auth = { authorization: 'Bearer broken-token' }
      try {
        const res = await postJson(`${broken.url}/api/codex/run`, { prompt: 'hi' }, auth)
        const text = await res.text()
        expect(res.status, text).toBe(200)
        expect(JSON.parse(text)).toEqual({ events: [failedEvent(/.*config/)], final_response: null })
        const stream = await postJson(
          `${broken.url}/api/codex/stream`,
          { prompt: 'hi' },
          { ...auth, origin: 'http://page.example' },
        )
        expect(stream.status).toBe(200)
        expect(stream.headers.get('access-control-allow-origin')).toBe('*')
        const frames = (await readSse(stream)).map((f) => JSON.parse(f.data))
        expect(frames).toEqual([failedEvent(/.*config/)])
      } finally {
        await broken.close()
      }
    })

    it('a model name that looks like a flag is passed as a model, not read as a flag', async () => {
      mock.script({ kind: 'text', text: 'flag-like model' })
      const res = await postJson(`${gw.url}/api/codex/run`, { prompt: 'hi', model: '--help' })
      expect(res.status).toBe(200)
      expect(mock.requests.at(-1)?.body).toMatchObject({ model: '--help' })
    })
  })
})

/**
 * A newcomer's first mistakes, each sent over a real socket to a gateway with a token, a small body limit and a
 * claude that is not installed: the status says what kind of mistake, the message what to do about it.
 */
describe("a newcomer's first mistakes", () => {
  const token = 'newcomer-token'
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, {
      API_TOKENS: token,
      AGENTS: 'codex,claude',
      CLAUDE_PATH: '/nonexistent/claude',
      BODY_LIMIT_BYTES: '2048',
    })
  })
  afterAll(async () => {
    await gw?.close()
  })

  /** `body` as JSON with the token, unless `headers` say otherwise; the status and the error's words. */
  async function send(
    method: string,
    route: string,
    opts: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; code: unknown; message: string }> {
    const res = await fetch(gw.url + route, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    })
    const body = (await res.json()) as Record<string, unknown>
    // the /v1 envelope, seed 000's {error: title, details}, seed 001/002's {error, code} or FastAPI's {detail}
    const { error, code, details, detail } = body as Record<string, unknown>
    if (error && typeof error === 'object') {
      const e = error as Record<string, unknown>
      return { status: res.status, code: e.code, message: String(e.message) }
    }
    const message = typeof details === 'string' ? details : (error ?? detail)
    return { status: res.status, code, message: String(message) }
  }

  it('a wrong agent name lists the agents there are', async () => {
    const res = await send('POST', '/v1/runs', { body: '{"agent":"codx","prompt":"hi"}' })
    expect(res).toMatchObject({ status: 400, code: 'unknown_agent' })
    expect(res.message).toContain('available: codex, claude')
  })

  it('malformed JSON says so', async () => {
    const res = await send('POST', '/v1/runs', { body: '{"prompt":"hi"' })
    expect(res).toMatchObject({ status: 400, code: 'invalid_request' })
    expect(res.message).toMatch(/^malformed JSON body/)
    // valid JSON with a key the parser refuses: the message names it (before: "Body is not valid JSON")
    for (const body of [
      '{"prompt":"hi","__proto__":{"cwd":"/etc"}}',
      '{"prompt":"hi","constructor":{"prototype":{}}}',
    ]) {
      const refused = await send('POST', '/v1/runs', { body })
      expect(refused).toMatchObject({ status: 400, code: 'invalid_request' })
      expect(refused.message).toContain('"__proto__" key or a "constructor" key holding "prototype"')
    }
  })

  it('JSON sent as text/plain is a 415 saying which content-type to send, on every family of routes', async () => {
    // (seed 002's and 003's routes read a body as FastAPI did: text/plain is its 422, in their routes' tests)
    for (const route of ['/v1/runs', '/chat']) {
      const res = await send('POST', route, {
        body: '{"prompt":"hi"}',
        headers: { 'content-type': 'text/plain' },
      })
      expect(res.status, route).toBe(415)
      expect(res.message, route).toContain('content-type: application/json')
    }
  })

  it('a missing required field is named as required', async () => {
    const prompt = await send('POST', '/v1/runs', { body: '{}' })
    expect(prompt).toMatchObject({ status: 400, message: '`prompt` is required' })
    const seed = await send('POST', '/chat', { body: '{}' })
    expect(seed).toMatchObject({
      status: 400,
      message: 'invalid request: body.prompt: required (expected string)',
    })
    // the body is checked before the session is looked up
    const input = await send('POST', '/v1/sessions/ses_none/turns', { body: '{"prompt":"hi"}' })
    expect(input).toMatchObject({ status: 400, code: 'invalid_request' })
    expect(input.message).toBe(
      'invalid request: body.input: required (expected a non-empty string, or items such as [{"type":"text","text":"..."},{"type":"localImage","path":"shot.png"}]); ' +
        "body: unknown field 'prompt' (did you mean 'input'?); the fields are: input, onBusy, approvalPolicy, outputSchema",
    )
    const decision = await send('POST', '/v1/approvals/apr_none', { body: '{}' })
    expect(decision).toMatchObject({ status: 400, code: 'invalid_request' })
    expect(decision.message).toMatch(
      /^invalid request: body\.decision: required \(expected one of "accept"\|/,
    )
    // a field sent with a wrong value is not called missing
    const wrong = await send('POST', '/v1/approvals/apr_none', { body: '{"decision":"yes"}' })
    expect(wrong.message).toMatch(/^invalid request: body\.decision: Invalid option: expected one of/)
  })

  it('an unknown field in a /v1 body is refused by name, with the field it probably meant', async () => {
    const cases: [string, string, string][] = [
      ['/v1/runs', '{"promt":"hi"}', "body: unknown field 'promt' (did you mean 'prompt'?)"],
      // a session turn's field for it, sent to a run (and the other way round, above)
      ['/v1/runs', '{"input":"hi"}', "body: unknown field 'input' (did you mean 'prompt'?)"],
      [
        '/v1/runs',
        '{"prompt":"hi","sandbx":"read-only"}',
        "unknown field 'sandbx' (did you mean 'sandbox'?)",
      ],
      [
        '/v1/runs',
        '{"prompt":"hi","limits":{"maxTokns":5}}',
        "body.limits: unknown field 'maxTokns' (did you mean 'maxTokens'?)",
      ],
      [
        '/v1/runs',
        '{"prompt":"hi","command":{"cli":"codex","argz":[]}}',
        "body.command: unknown field 'argz' (did you mean 'args'?)",
      ],
      [
        '/v1/runs',
        '{"prompt":"hi","webhook":{"url":"http://127.0.0.1:9/h","event":["run.completed"]}}',
        "body.webhook: unknown field 'event' (did you mean 'events'?)",
      ],
      [
        '/v1/sessions',
        '{"sandbx":"read-only","approvalpolicy":"never"}',
        "unknown fields 'sandbx' (did you mean 'sandbox'?), 'approvalpolicy' (did you mean 'approvalPolicy'?)",
      ],
      [
        '/v1/sessions/ses_none/turns',
        '{"input":"hi","onbusy":"queue"}',
        "unknown field 'onbusy' (did you mean 'onBusy'?)",
      ],
      [
        '/v1/sessions/ses_none/turns',
        '{"input":[{"type":"text","text":"hi","x":1}]}',
        "body.input.0: unknown field 'x'; the fields are: type, text",
      ],
      [
        '/v1/approvals/apr_none',
        '{"decision":"accept","reason":"ok"}',
        "unknown field 'reason'; the fields are: decision",
      ],
    ]
    for (const [route, body, words] of cases) {
      const res = await send('POST', route, { body })
      expect(res, `${route} ${body}`).toMatchObject({ status: 400, code: 'invalid_request' })
      expect(res.message, `${route} ${body}`).toContain(words)
    }
  })

  it('an unknown query parameter of a /v1 route is refused by name, not ignored', async () => {
    const cases: [string, string, string][] = [
      // the filter is `state`: ignored, this listed every approval
      ['GET', '/v1/approvals?status=pending', "unknown query parameter 'status' (did you mean 'state'?)"],
      ['GET', '/v1/runs?limt=5', "unknown query parameter 'limt' (did you mean 'limit'?)"],
      [
        'GET',
        '/v1/sessions?agent=codex&sort=asc',
        "unknown query parameter 'sort'; the query parameters are:",
      ],
      ['GET', '/v1/runs/run_none/events?afer=3', "unknown query parameter 'afer' (did you mean 'after'?)"],
      ['GET', '/v1/models?agnet=codex', "unknown query parameter 'agnet' (did you mean 'agent'?)"],
      ['POST', '/v1/runs?wiat=true', "unknown query parameter 'wiat' (did you mean 'wait'?)"],
    ]
    for (const [method, route, words] of cases) {
      const res = await send(method, route, method === 'POST' ? { body: '{"prompt":"hi"}' } : {})
      expect(res, route).toMatchObject({ status: 400, code: 'invalid_request' })
      expect(res.message, route).toContain(`querystring: ${words}`)
    }
    // the parameters the console and the client send are still taken
    for (const route of [
      '/v1/approvals?state=pending&sessionId=ses_x',
      '/v1/runs?limit=5&agent=codex&status=succeeded',
    ]) {
      expect(
        (await fetch(gw.url + route, { headers: { authorization: `Bearer ${token}` } })).status,
        route,
      ).toBe(200)
    }
  })

  it("the console's and the client's own bodies are still accepted; a seed route still takes an extra field", async () => {
    // claude is not installed here: a 503 naming CLAUDE_PATH means the body passed validation
    const run = await send('POST', '/v1/runs', {
      body: JSON.stringify({
        agent: 'claude',
        prompt: 'hi',
        sandbox: 'read-only',
        skipGitRepoCheck: true,
        cancelOnDisconnect: false,
        model: 'm',
        cwd: '.',
        limits: { maxTurns: 2, maxTokens: 100, maxDurationSeconds: 60 },
      }),
    })
    expect(run, run.message).toMatchObject({ status: 503, code: 'agent_not_installed' })
    const session = await send('POST', '/v1/sessions', {
      body: JSON.stringify({ agent: 'claude', sandbox: 'read-only', approvalPolicy: 'never', cwd: '.' }),
    })
    expect(session).toMatchObject({ status: 503, code: 'agent_not_installed' })
    // seeds 000-002 were FastAPI apps (pydantic ignores extra fields): the body gets as far as the cwd check
    for (const [route, body] of [
      ['/chat', { prompt: 'hi', cwd: '/etc', temperature: 0.2 }],
      ['/api/codex/run', { prompt: 'hi', working_directory: 'no-such-dir', stream: false }],
      ['/run', { cli: 'codex', args: ['--version'], cwd: '/etc', timeout: 5 }],
    ] as const) {
      const res = await send('POST', route, { body: JSON.stringify(body) })
      expect(res.status, route).toBe(400)
      expect(res.message, route).not.toContain('unknown field')
      expect(res.message, route).toContain('WORKSPACE_ROOTS')
    }
  })

  it("a wrong method on a known path is a 405 with Allow, in the route family's shape; unknown paths stay 404", async () => {
    const wrong = async (method: string, route: string) => {
      const res = await fetch(gw.url + route, { method, headers: { authorization: `Bearer ${token}` } })
      return { status: res.status, allow: res.headers.get('allow'), body: (await res.json()) as unknown }
    }
    expect(await wrong('DELETE', '/v1/runs')).toEqual({
      status: 405,
      allow: 'GET, HEAD, POST',
      body: {
        error: {
          code: 'method_not_allowed',
          message:
            'DELETE is not a method of /v1/runs: it takes GET, HEAD, POST (the routes are listed at /docs)',
        },
      },
    })
    expect(await wrong('POST', '/v1/runs/run_none')).toMatchObject({ status: 405, allow: 'GET, HEAD' })
    expect(await wrong('GET', '/v1/sessions/ses_none/turns')).toMatchObject({ status: 405, allow: 'POST' })
    // seeds 003 and 001 (FastAPI apps both) answer as FastAPI does
    expect(await wrong('GET', '/api/thread/start')).toEqual({
      status: 405,
      allow: 'POST',
      body: { detail: 'Method Not Allowed' },
    })
    // FastAPI's GET route takes no HEAD: codex_serve.py answered HEAD /clis with 405 too
    expect(await wrong('PUT', '/clis')).toEqual({
      status: 405,
      allow: 'GET',
      body: { detail: 'Method Not Allowed' },
    })
    // an unknown path under any method is still a 404; a GET route's own 404 is not turned into a 405
    expect(await wrong('DELETE', '/v1/nothing-here')).toMatchObject({ status: 404 })
    expect(await wrong('GET', '/docs/no-such-page')).toMatchObject({ status: 404 })
    // HEAD and OPTIONS are methods like the others (test/integration/route-family-errors.test.ts has more),
    // and without a token a wrong method is a 401 like any unknown path
    const head = await fetch(`${gw.url}/v1/runs/run_none/cancel`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${token}` },
    })
    expect({ status: head.status, allow: head.headers.get('allow') }).toEqual({ status: 405, allow: 'POST' })
    expect(await wrong('OPTIONS', '/v1/runs')).toMatchObject({ status: 405, allow: 'GET, HEAD, POST' })
    const anonymous = await fetch(`${gw.url}/v1/runs`, { method: 'DELETE' })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('allow')).toBeNull()
  })

  it('a cwd outside the workspace names the roots and the setting that adds one', async () => {
    const res = await send('POST', '/v1/runs', { body: '{"prompt":"hi","cwd":"/etc"}' })
    expect(res).toMatchObject({ status: 400, code: 'invalid_cwd' })
    expect(res.message).toContain(gw.workspace)
    expect(res.message).toContain('WORKSPACE_ROOTS')
  })

  it('an image for an agent that takes none is refused, not dropped; a missing image is called an image', async () => {
    writeFileSync(path.join(gw.workspace, 'pic.png'), 'not really a png')
    const claude = await send('POST', '/v1/runs', {
      body: '{"agent":"claude","prompt":"what is in it?","images":["pic.png"]}',
    })
    expect(claude).toMatchObject({
      status: 400,
      code: 'invalid_request',
      message: "agent claude does not support images; GET /v1/agents lists each agent's capabilities",
    })
    const missing = await send('POST', '/v1/runs', {
      body: '{"prompt":"what is in it?","images":["nope.png"]}',
    })
    expect(missing).toMatchObject({ status: 400, code: 'invalid_cwd' })
    expect(missing.message).toMatch(/^image "nope.png" is outside the workspace roots or does not exist/)
    expect(missing.message).toContain(
      `the image must be inside one of the workspace roots: ${gw.workspace} (`,
    )
  })

  it('a body that is not a JSON object says so', async () => {
    for (const body of ['[1,2]', 'null']) {
      const res = await send('POST', '/v1/runs', { body })
      expect(res.status, body).toBe(400)
      expect(res.message, body).toMatch(/^invalid request: body: Invalid input: expected object, received/)
    }
  })

  it('container isolation on a server without containers says what configures it and how to do without', async () => {
    const res = await send('POST', '/v1/runs', { body: '{"prompt":"hi","isolation":"container"}' })
    expect(res).toMatchObject({ status: 400, code: 'invalid_request' })
    expect(res.message).toContain('CONTAINER_IMAGE')
    expect(res.message).toContain('leave out `isolation`')
  })

  it('an agent CLI that is not installed is a 503 naming the setting that points at it', async () => {
    const res = await send('POST', '/v1/runs', { body: '{"agent":"claude","prompt":"hi"}' })
    expect(res).toMatchObject({ status: 503, code: 'agent_not_installed' })
    expect(res.message).toContain('CLAUDE_PATH')
  })

  it('an unknown route points at the list of routes; without a token it is a 401 in the same shape', async () => {
    const res = await send('GET', '/v1/run')
    expect(res).toMatchObject({ status: 404, code: 'not_found' })
    expect(res.message).toBe(
      'no route GET /v1/run: the routes are listed at /docs (OpenAPI 3.1 at /openapi.json)',
    )
    const anonymous = await fetch(`${gw.url}/v1/run`)
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toEqual({
      error: { code: 'unauthorized', message: 'missing bearer token: send `Authorization: Bearer <token>`' },
    })
  })

  it('a body over the limit names the limit and the setting', async () => {
    const res = await send('POST', '/v1/runs', { body: JSON.stringify({ prompt: 'x'.repeat(4096) }) })
    expect(res).toMatchObject({ status: 413, code: 'body_too_large' })
    expect(res.message).toContain('BODY_LIMIT_BYTES (2048 bytes)')
  })

  it('headers over the limit name the limit and what to trim', async () => {
    const res = await send('GET', '/v1/runs', { headers: { 'x-large': 'a'.repeat(20_000) } })
    expect(res).toMatchObject({ status: 431, code: 'headers_too_large' })
    expect(res.message).toContain('(16384 bytes')
    expect(res.message).toContain('send fewer or smaller headers')
  })

  it('a wrong token says which tokens count and how to send one', async () => {
    const res = await send('GET', '/v1/runs', { headers: { authorization: 'Bearer not-the-token' } })
    expect(res).toMatchObject({ status: 401, code: 'unauthorized' })
    expect(res.message).toContain('API_TOKENS')
    expect(res.message).toContain('Authorization: Bearer <token>')
  })
})
