import { beforeEach, describe, expect, it } from 'vitest'
import type { CodexDriver } from '../../src/agents/codex/driver.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { postJson, sharedGateway, startGateway, type TestGateway, testApiKey } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'

/** Seed 000 over real sockets with the real codex: GET /hello, POST /chat and their error statuses. */
describe('GET /hello and POST /chat (seed 000)', () => {
  const shared = sharedGateway()
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => ({ mock, gw } = shared))

  it('/hello returns the scripted greeting as text/plain', async () => {
    mock.script({ kind: 'text', text: 'Ahoy, traveller!' })
    const res = await fetch(`${gw.url}/hello`)
    expect(res.status).toBe(200)
    // as Starlette's PlainTextResponse: text/* with its charset
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await res.text()).toBe('Ahoy, traveller!')
    expect(mock.lastUserText(mock.requests[0]!)).toMatch(/greeting/i)
  })

  it('HEAD /hello never runs the agent: 405 with Allow: GET, as the FastAPI original answers', async () => {
    mock.script({ kind: 'text', text: 'must not be asked' })
    const runsBefore = (await gw.ctx.store.listRuns({ limit: 1000 })).length
    const res = await fetch(`${gw.url}/hello`, { method: 'HEAD' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET')
    expect(mock.requests).toHaveLength(0)
    expect(await gw.ctx.store.listRuns({ limit: 1000 })).toHaveLength(runsBefore)
  })

  it('/chat returns codex output and the mock received the prompt', async () => {
    mock.script({ kind: 'text', text: 'hello.txt would say hi' })
    const res = await postJson(`${gw.url}/chat`, { prompt: 'create hello.txt with a short greeting' })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { stdout: string; stderr: string; returncode: number }
    // codex exec's stdout, which the original answered: the last message as a line, with its newline
    expect(body).toMatchObject({ stdout: 'hello.txt would say hi\n', returncode: 0 })
    expect(typeof body.stderr).toBe('string')
    expect(mock.lastUserText(mock.requests[0]!)).toContain('create hello.txt with a short greeting')
  })

  it('/chat takes cwd and model sent as null as absent', async () => {
    mock.script({ kind: 'text', text: 'null is absent' })
    const res = await postJson(`${gw.url}/chat`, { prompt: 'p', cwd: null, model: null })
    expect(res.status).toBe(200)
    // FastAPI's JSONResponse names no charset
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await res.json()).toEqual({
      stdout: 'null is absent\n',
      stderr: expect.any(String),
      returncode: 0,
    })
  })

  it('/chat with a model failure answers 500 with {error, details, provider}', async () => {
    mock.script({ kind: 'http_error', status: 500, body: '{"error":{"message":"upstream broke"}}' })
    const res = await postJson(`${gw.url}/chat`, { prompt: 'break' })
    expect(res.status).toBe(500)
    const body = (await res.json()) as Record<string, string>
    expect(body).toMatchObject({ error: 'codex failed', provider: 'codex' })
    expect(body.details).toMatch(/failed/)
  })

  it('the provider key never appears in a response', async () => {
    mock.script({ kind: 'text', text: 'no secrets here' })
    const chat = await (await postJson(`${gw.url}/chat`, { prompt: 'p' })).text()
    const health = await (await fetch(`${gw.url}/health`)).text()
    expect(chat + health).not.toContain(testApiKey)
  })
})

describe('timeouts (seed 000)', () => {
  it('a slow model makes /hello answer 408 and leaves no codex process', async () => {
    const mock = await startMockLlm()
    const gw = await startGateway(mock, { TIMEOUT_SECONDS: '1' })
    try {
      mock.script({ kind: 'text', text: 'too slow', delayMs: 30_000 })
      const res = await fetch(`${gw.url}/hello`)
      expect(res.status).toBe(408)
      const body = (await res.json()) as Record<string, string>
      expect(body).toMatchObject({ error: 'codex timed out', provider: 'codex' })
      expect(body.details).toContain('TIMEOUT_SECONDS')
      // The run's commands and processes are gone; the shared warm app-server (if the run used it) stays.
      const engine = (gw.ctx.registry.get('codex') as CodexDriver).appServerPid
      expect(await waitUntilGone(() => processesUnder(gw.workspace).filter((p) => p.pid !== engine))).toEqual(
        [],
      )
    } finally {
      await gw.close()
      await mock.close()
    }
  })
})

describe('503 when the agent cannot run', () => {
  it('codex missing: 503 saying how to install it', async () => {
    const gw = await startGateway(null, { CODEX_PATH: '/nonexistent/codex', CODEX_API_KEY: 'k' })
    try {
      const res = await fetch(`${gw.url}/hello`)
      expect(res.status).toBe(503)
      const body = (await res.json()) as Record<string, string>
      expect(body).toMatchObject({ error: 'codex CLI is not installed', provider: 'codex' })
      expect(body.details).toMatch(/npm ci|CODEX_PATH/)
    } finally {
      await gw.close()
    }
  })

  it('no credentials: 503 naming the variables to set, nothing spawned', async () => {
    const gw = await startGateway(null)
    try {
      const res = await postJson(`${gw.url}/chat`, { prompt: 'hi' })
      expect(res.status).toBe(503)
      const body = (await res.json()) as Record<string, string>
      expect(body).toMatchObject({ error: 'codex CLI is not authenticated', provider: 'codex' })
      expect(body.details).toMatch(/CODEX_API_KEY/)
      expect(body.details).toMatch(/codex login/)
      expect(processesUnder(gw.workspace)).toEqual([])
    } finally {
      await gw.close()
    }
  })
})
