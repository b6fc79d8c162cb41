import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import type { GatewayContext } from '../../src/core/context.js'
import { createGateway, stopGateway } from '../../src/core/gateway.js'
import { buildApp } from '../../src/http/app.js'
import { removeDir, tempDir } from '../support/temp.js'

// biome-ignore lint/suspicious/noExplicitAny: a JSON document walked by key
type Json = Record<string, any>

let app: FastifyInstance | undefined
const dirs: string[] = []
const contexts: GatewayContext[] = []

afterEach(async () => {
  await app?.close()
  app = undefined
  for (const ctx of contexts.splice(0)) await stopGateway(ctx, 0)
  for (const d of dirs.splice(0)) removeDir(d)
})

/** The app as server.ts builds it, with an empty CODEX_HOME and no provider key. */
async function makeApp(settings: Record<string, string> = {}) {
  const cwd = tempDir('app-')
  const codexHome = tempDir('codex-home-')
  dirs.push(cwd, codexHome)
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: cwd,
    CODEX_HOME: codexHome,
    // Only the agents these routes use: GET /health probes every offered agent.
    AGENTS: 'codex',
    ...settings,
  }
  const config = loadConfig(env, cwd)
  mkdirSync(config.DATA_DIR, { recursive: true })
  mkdirSync(config.WORKSPACE_DIR, { recursive: true })
  const ctx = await createGateway(config, env)
  contexts.push(ctx)
  app = await buildApp(ctx, { logger: false })
  return { app, config }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no response within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

describe('bearer tokens', () => {
  const tokens = { API_TOKENS: 'a-token,b-token' }

  it('refuses a request without Authorization with 401 and an error body', async () => {
    const { app } = await makeApp(tokens)
    const res = await app.inject({ method: 'GET', url: '/clis' })
    expect(res.statusCode).toBe(401)
    // seed 001's route: FastAPI's {detail}, as its original's errors
    const body = res.json()
    expect(Object.keys(body)).toEqual(['detail'])
    expect(body.detail).toMatch(/bearer token/i)
  })

  it('refuses a wrong token with 401', async () => {
    const { app } = await makeApp(tokens)
    for (const authorization of [
      'Bearer c-token',
      'Bearer a-token-but-longer',
      'Bearer ',
      'b-token',
      'Basic b-token',
    ]) {
      const res = await app.inject({ method: 'GET', url: '/clis', headers: { authorization } })
      expect(res.statusCode, authorization).toBe(401)
      expect(res.json().detail, authorization).toMatch(/bearer token/i)
    }
  })

  it('accepts any configured token', async () => {
    const { app } = await makeApp(tokens)
    for (const authorization of ['Bearer b-token', 'Bearer a-token', 'bearer  a-token']) {
      const res = await app.inject({ method: 'GET', url: '/clis', headers: { authorization } })
      expect(res.statusCode, authorization).toBe(200)
      expect(res.json()).toEqual({ clis: ['codex'], count: 1 })
    }
  })

  it('also guards POST routes and unknown routes', async () => {
    const { app } = await makeApp(tokens)
    const chat = await app.inject({ method: 'POST', url: '/chat', payload: { prompt: 'hi' } })
    expect(chat.statusCode).toBe(401)
    // seed 000's {error, details, provider}: the title names the status, not 'invalid request'
    expect(chat.json()).toMatchObject({ error: 'unauthorized', provider: 'codex' })
    const run = await app.inject({ method: 'POST', url: '/run', payload: { cli: 'codex' } })
    expect(run.statusCode).toBe(401)
    const unknown = await app.inject({ method: 'GET', url: '/nope' })
    expect(unknown.statusCode).toBe(401)
  })

  it('leaves /health open', async () => {
    const { app } = await makeApp(tokens)
    const res = await app.inject({ method: 'GET', url: '/health' })
    expect(res.statusCode).toBe(200)
    expect(res.json().status).toBe('healthy')
    const withQuery = await app.inject({ method: 'GET', url: '/health?verbose=1' })
    expect(withQuery.statusCode).toBe(200)
  })

  it('requires nothing when API_TOKENS is not set', async () => {
    const { app } = await makeApp()
    const res = await app.inject({ method: 'GET', url: '/clis' })
    expect(res.statusCode).toBe(200)
  })
})

describe('GET /clis and /models', () => {
  it('lists the default CLI', async () => {
    const { app } = await makeApp()
    const res = await app.inject({ method: 'GET', url: '/clis' })
    expect(res.json()).toEqual({ clis: ['codex'], count: 1 })
  })

  it('lists CLI_LIST sorted, without duplicates (as codex.serve: sorted(set(CLI_LIST)))', async () => {
    const { app } = await makeApp({ CLI_LIST: 'codex, claude, codex' })
    expect((await app.inject({ method: 'GET', url: '/clis' })).json()).toEqual({
      clis: ['claude', 'codex'],
      count: 2,
    })
  })

  it('lists MODEL_LIST', async () => {
    const { app } = await makeApp({ MODEL_LIST: 'gpt-5,o3' })
    const res = await app.inject({ method: 'GET', url: '/models' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ models: ['gpt-5', 'o3'], count: 2 })
  })

  it('lists the default model', async () => {
    const { app } = await makeApp()
    expect((await app.inject({ method: 'GET', url: '/models' })).json()).toEqual({
      models: ['auto'],
      count: 1,
    })
  })
})

describe('request errors', () => {
  it('POST /chat with malformed JSON -> 400 {error, details, provider}', async () => {
    const { app } = await makeApp()
    const res = await app.inject({
      method: 'POST',
      url: '/chat',
      headers: { 'content-type': 'application/json' },
      payload: '{"prompt": "hi",',
    })
    expect(res.statusCode).toBe(400)
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(['details', 'error', 'provider'])
    expect(body.error).toBe('invalid request')
    expect(body.details).toMatch(/JSON/)
    expect(body.provider).toBe('codex')
  })

  it('POST /chat with a prompt that is not a string -> 400 naming prompt', async () => {
    const { app } = await makeApp()
    const res = await app.inject({ method: 'POST', url: '/chat', payload: { prompt: 5 } })
    expect(res.statusCode).toBe(400)
    const body = res.json()
    expect(body.provider).toBe('codex')
    expect(body.details).toContain('prompt')
  })

  it('POST /chat without a prompt -> 400 naming prompt', async () => {
    const { app } = await makeApp()
    const res = await app.inject({ method: 'POST', url: '/chat', payload: {} })
    expect(res.statusCode).toBe(400)
    expect(res.json().details).toContain('prompt')
  })

  it('POST /chat with a prompt over MAX_PROMPT_CHARS -> 400', async () => {
    const { app } = await makeApp({ MAX_PROMPT_CHARS: '10' })
    const res = await app.inject({ method: 'POST', url: '/chat', payload: { prompt: 'x'.repeat(11) } })
    expect(res.statusCode).toBe(400)
    expect(res.json().details).toContain('prompt')
  })

  it("POST /run with a CLI outside CLI_LIST -> 400 in codex.serve's words", async () => {
    const { app } = await makeApp()
    const res = await app.inject({ method: 'POST', url: '/run', payload: { cli: 'bash' } })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ detail: 'Unsupported CLI: bash' })
  })

  it('POST /run with a refused argument -> 400 forbidden_argument', async () => {
    const { app } = await makeApp()
    const res = await app.inject({
      method: 'POST',
      url: '/run',
      payload: { cli: 'codex', args: ['exec', '--dangerously-bypass-approvals-and-sandbox', 'hi'] },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().detail).toMatch(/RUN_ALLOW_UNSAFE_ARGS/)
  })

  it('POST /run with a refused env name -> 400 forbidden_env', async () => {
    const { app } = await makeApp()
    const res = await app.inject({
      method: 'POST',
      url: '/run',
      payload: { cli: 'codex', args: ['exec', 'hi'], env: { LD_PRELOAD: '/tmp/x.so' } },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().detail).toMatch(/RUN_ALLOW_ENV=LD_PRELOAD/)
  })

  it('POST /run with a cwd outside the workspace -> 400 invalid_cwd', async () => {
    const { app } = await makeApp()
    const res = await app.inject({
      method: 'POST',
      url: '/run',
      payload: { cli: 'codex', args: ['--version'], cwd: '..' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().detail).toMatch(/outside the workspace roots/)
  })

  it('a body over BODY_LIMIT_BYTES -> 413', async () => {
    const { app } = await makeApp({ BODY_LIMIT_BYTES: '2048' })
    const res = await app.inject({ method: 'POST', url: '/chat', payload: { prompt: 'x'.repeat(4096) } })
    expect(res.statusCode).toBe(413)
    expect(res.json().details).toContain('BODY_LIMIT_BYTES')
    const run = await app.inject({
      method: 'POST',
      url: '/run',
      payload: { cli: 'codex', stdin: 'x'.repeat(4096) },
    })
    expect(run.statusCode).toBe(413)
    expect(run.json().detail).toContain('BODY_LIMIT_BYTES')
  })

  /**
   * Sends every route whose OpenAPI operation reads a body the request `send` makes, and checks that it answers
   * `status` with the error body its operation documents for that status (the documented family's fields).
   */
  async function eachBodyRouteAnswers(
    settings: Record<string, string>,
    status: number,
    send: { headers: Record<string, string>; body: string },
  ): Promise<string[]> {
    const { app } = await makeApp(settings)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as Json
    const checked: string[] = []
    for (const [route, ops] of Object.entries<Json>(doc.paths))
      for (const [method, op] of Object.entries<Json>(ops)) {
        if (!op.requestBody) continue
        const key = `${method.toUpperCase()} ${route}`
        // a body read as FastAPI read it (seed 002) takes any content-type: its model refuses it, FastAPI's 422
        const answers = status === 415 && !op.responses[415] && op.responses[422] ? 422 : status
        const ref = op.responses[answers]?.$ref as string | undefined
        expect(ref, `${key} documents ${answers}`).toBeDefined()
        const documented = doc.components.responses[ref!.split('/').at(-1)!].content['application/json']
        const schema = doc.components.schemas[(documented.schema.$ref as string).split('/').at(-1)!]
        const res = await fetch(`${base}${route.replaceAll(/\{\w+\}/g, 'x')}`, {
          method: method.toUpperCase(),
          ...send,
        })
        expect(res.status, key).toBe(answers)
        const body = (await res.json()) as Record<string, unknown>
        // the documented family's body: its required fields, and nothing else at the top
        expect(Object.keys(body).sort(), key).toEqual(
          expect.arrayContaining(schema.required ?? Object.keys(schema.properties)),
        )
        for (const field of Object.keys(body)) expect(Object.keys(schema.properties), key).toContain(field)
        checked.push(key)
      }
    expect(checked).toEqual(
      expect.arrayContaining([
        'POST /api/codex/run',
        'POST /v1/sessions',
        'POST /v1/sessions/{id}/turns',
        'POST /v1/approvals/{id}',
        'POST /api/thread/start',
        'POST /api/skills/list',
      ]),
    )
    return checked
  }

  it('every route whose OpenAPI operation reads a body answers 413 over BODY_LIMIT_BYTES, in the body it documents', async () => {
    await eachBodyRouteAnswers({ BODY_LIMIT_BYTES: '2048' }, 413, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x'.repeat(4096) }),
    })
  })

  it('every route whose OpenAPI operation reads a body answers 415 to a body that is not JSON, in the body it documents', async () => {
    await eachBodyRouteAnswers({}, 415, {
      headers: { 'content-type': 'application/xml' },
      body: '<prompt>hi</prompt>',
    })
  })

  it('a body under BODY_LIMIT_BYTES is accepted for validation', async () => {
    const { app } = await makeApp({ BODY_LIMIT_BYTES: '2048' })
    const res = await app.inject({
      method: 'POST',
      url: '/run',
      payload: { cli: 'bash', stdin: 'x'.repeat(1024) },
    })
    expect(res.statusCode).toBe(400)
  })

  it('an unknown route -> 404 with an error body', async () => {
    const { app } = await makeApp()
    const res = await app.inject({ method: 'GET', url: '/no/such/route' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({
      error: {
        code: 'not_found',
        message: 'no route GET /no/such/route: the routes are listed at /docs (OpenAPI 3.1 at /openapi.json)',
      },
    })
  })

  it('a wrong method on a known path -> 405 with Allow', async () => {
    const { app } = await makeApp()
    const res = await app.inject({ method: 'DELETE', url: '/clis' })
    expect(res.statusCode).toBe(405)
    expect(res.headers.allow).toBe('GET')
  })

  it('POST /run with a cwd that is a file -> 400 invalid_cwd, not a hung stream', async () => {
    const { app, config } = await makeApp({ CLI_LIST: 'codex,echo' })
    writeFileSync(path.join(config.WORKSPACE_DIR, 'notes.txt'), 'x')
    const res = await within(
      app.inject({ method: 'POST', url: '/run', payload: { cli: 'echo', args: ['hi'], cwd: 'notes.txt' } }),
      5000,
      'POST /run cwd=notes.txt',
    )
    expect(res.statusCode).toBe(400)
    expect(res.json().detail).toMatch(/is not a directory/)
  })

  it('POST /run whose process cannot start (NUL byte in env) ends the response', async () => {
    const { app } = await makeApp({ CLI_LIST: 'codex,echo' })
    const res = await within(
      app.inject({
        method: 'POST',
        url: '/run',
        payload: { cli: 'echo', args: ['hi'], env: { FOO: 'a\u0000b' } },
      }),
      5000,
      'POST /run env with NUL',
    )
    if (res.statusCode === 200) {
      const frames = res.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(frames.at(-1)).toMatchObject({ type: 'exit' })
      expect(frames.at(-1).code).not.toBe(0)
    } else {
      expect(res.statusCode).toBe(400)
    }
  })
})
