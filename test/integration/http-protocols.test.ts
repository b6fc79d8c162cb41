import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import type { TLSSocket } from 'node:tls'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { keepAliveTimeoutMs } from '../../src/http/listener.js'
import type { Run } from '../../src/protocol/runs.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { AgentStreamClient } from '../support/agent-stream-client.js'
import { postJson, sharedGateway, startGateway, type TestGateway } from '../support/gateway.js'
import { h2connect, h2request, selfSignedCert } from '../support/h2-client.js'

const run = promisify(execFile)

/** SSE frames of one H2 response body: the `event:` names in order. */
const sseEvents = (body: string) =>
  body
    .split('\n\n')
    .map((block) => /^event: (.+)$/m.exec(block)?.[1])
    .filter((e): e is string => e !== undefined)

/** Opens `count` SSE streams for a run's events on one HTTP/2 session and reads each to its end. */
async function manySse(session: ReturnType<typeof h2connect>, runId: string, count: number) {
  return Promise.all(
    Array.from({ length: count }, () =>
      h2request(session, 'GET', `/v1/runs/${runId}/events`, undefined, { accept: 'text/event-stream' }),
    ),
  )
}

describe('one port: HTTP/1.1 and h2c (prior knowledge)', () => {
  const shared = sharedGateway()

  it('HTTP/1.1 still works: a run with ?wait=true', async () => {
    shared.mock.script({ kind: 'text', text: 'over http one' })
    const res = await postJson(`${shared.gw.url}/v1/runs?wait=true`, { prompt: 'h1 please' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'succeeded', finalResponse: 'over http one' })
    // an idle connection is kept for the next request (Fastify's 72 s, not Node's 5 s)
    expect(res.headers.get('keep-alive')).toBe(`timeout=${keepAliveTimeoutMs / 1000}`)
  })

  it('h2c: a run, then 25 SSE streams of it share one connection and each sees run.completed', async () => {
    const session = h2connect(shared.gw.url)
    try {
      shared.mock.script({ kind: 'text', text: 'over h2c', delayMs: 300 })
      const submitted = await h2request(session, 'POST', '/v1/runs', { prompt: 'h2c please' })
      expect(submitted.status).toBe(202)
      const queued = JSON.parse(submitted.body) as Run
      const streams = await manySse(session, queued.id, 25)
      for (const s of streams) {
        expect(s.status).toBe(200)
        expect(s.headers['content-type']).toContain('text/event-stream')
        expect(sseEvents(s.body).at(-1)).toBe('run.completed')
        expect(s.body).toContain('over h2c')
      }
      const done = await h2request(session, 'GET', `/v1/runs/${queued.id}`)
      expect(JSON.parse(done.body)).toMatchObject({ status: 'succeeded', finalResponse: 'over h2c' })
      expect((await h2request(session, 'GET', '/nowhere')).status).toBe(404)
    } finally {
      session.close()
    }
  })

  it('curl --http2-prior-knowledge speaks HTTP/2 to the same port', async () => {
    shared.mock.script({ kind: 'text', text: 'curl over h2c' })
    const { stdout } = await run('curl', [
      '-sS',
      '--http2-prior-knowledge',
      '-w',
      '\n%{http_version} %{http_code}',
      '-H',
      'content-type: application/json',
      '-d',
      JSON.stringify({ prompt: 'from curl' }),
      `${shared.gw.url}/v1/runs?wait=true`,
    ])
    const [body, status] = stdout.split('\n')
    expect(status).toBe('2 200')
    expect(JSON.parse(body!)).toMatchObject({ status: 'succeeded', finalResponse: 'curl over h2c' })
  })

  it('a client that vanishes mid-SSE on h2 leaves the connection and the server healthy', async () => {
    shared.mock.script({ kind: 'text', text: 'slow one', delayMs: 800 })
    const session = h2connect(shared.gw.url)
    try {
      const queued = JSON.parse(
        (await h2request(session, 'POST', '/v1/runs', { prompt: 'slow' })).body,
      ) as Run
      const req = session.request({ ':path': `/v1/runs/${queued.id}/events`, accept: 'text/event-stream' })
      await new Promise((resolve) => req.once('response', resolve))
      req.close()
      const [other] = await manySse(session, queued.id, 1)
      expect(sseEvents(other!.body).at(-1)).toBe('run.completed')
    } finally {
      session.close()
    }
  })
})

describe('TLS: h2 and HTTP/1.1 through ALPN', () => {
  let mock: MockLlm
  let gw: TestGateway
  let ca: Buffer
  beforeAll(async () => {
    const cert = selfSignedCert()
    ca = readFileSync(cert.certPath)
    mock = await startMockLlm()
    // Seed 004's variable names.
    gw = await startGateway(mock, {
      CODEX_API_USE_TLS: 'true',
      CODEX_API_TLS_CERT_PATH: cert.certPath,
      CODEX_API_TLS_KEY_PATH: cert.keyPath,
    })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })
  afterEach(() => mock.reset())

  it('ALPN h2: a run and its SSE streams', async () => {
    expect(gw.url).toMatch(/^https:/)
    const session = h2connect(gw.url, ca)
    try {
      mock.script({ kind: 'text', text: 'over tls h2', delayMs: 200 })
      const submitted = await h2request(session, 'POST', '/v1/runs', { prompt: 'tls please' })
      expect(submitted.status).toBe(202)
      expect((session.socket as TLSSocket).alpnProtocol).toBe('h2')
      const queued = JSON.parse(submitted.body) as Run
      for (const s of await manySse(session, queued.id, 10)) {
        expect(sseEvents(s.body).at(-1)).toBe('run.completed')
        expect(s.body).toContain('over tls h2')
      }
    } finally {
      session.close()
    }
  })

  it('POST /agent/stream over TLS h2, both framings, on one connection', async () => {
    const session = h2connect(gw.url, ca)
    try {
      for (const framing of ['ndjson', 'length-prefixed'] as const) {
        mock.script({ kind: 'text', text: `tls ${framing}` })
        const c = new AgentStreamClient(session, framing)
        await c.send({ type: 'user_message', sessionId: `tls-${framing}-${process.pid}`, content: 'hi' })
        await c.status_('Agent run completed.')
        expect(c.texts()).toEqual([`tls ${framing}`])
        c.end()
        await c.ended
      }
    } finally {
      session.close()
    }
  })

  it('ALPN http/1.1: the same API', async () => {
    mock.script({ kind: 'text', text: 'over tls h1' })
    let keepAlive: string | undefined
    // a keep-alive client (a new Agent's default is `Connection: close`, which the server answers in kind)
    const agent = new https.Agent({ ca, ALPNProtocols: ['http/1.1'], keepAlive: true })
    onTestFinished(() => agent.destroy())
    const { status, body, alpn } = await new Promise<{ status: number; body: string; alpn: string }>(
      (resolve, reject) => {
        const req = https.request(
          `${gw.url}/v1/runs?wait=true`,
          {
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            const alpn = String((res.socket as TLSSocket).alpnProtocol)
            keepAlive = res.headers['keep-alive'] as string | undefined
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (d: string) => {
              text += d
            })
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: text,
                alpn,
              }),
            )
          },
        )
        req.on('error', reject)
        req.end(JSON.stringify({ prompt: 'tls h1' }))
      },
    )
    expect(alpn).toBe('http/1.1')
    expect(keepAlive).toBe(`timeout=${keepAliveTimeoutMs / 1000}`)
    expect(status).toBe(200)
    expect(JSON.parse(body)).toMatchObject({ status: 'succeeded', finalResponse: 'over tls h1' })
  })
})
