import { readFileSync } from 'node:fs'
import type http2 from 'node:http2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'
import { h2connect, selfSignedCert } from '../support/h2-client.js'

type Shape = 'v1' | 'codex-api-plan' | 'fastapi' | 'agent-stream' | 'none'

/** Which family's error shape a body has (src/http/errors.ts `errorBody`); 'none' for no body (a HEAD). */
function shapeOf(text: string): Shape | string {
  if (text === '') return 'none'
  const body = JSON.parse(text) as Record<string, unknown>
  const keys = Object.keys(body).sort().join(',')
  if (keys === 'error' && typeof body.error === 'object') return 'v1'
  if (keys === 'details,error,provider') return 'codex-api-plan'
  if (keys === 'detail') return 'fastapi'
  // seed 004's error frame, one NDJSON line
  if (keys === 'code,id,message,type' && body.type === 'error' && text.endsWith('}\n')) return 'agent-stream'
  return `unknown: ${text}`
}

interface Case {
  method: string
  path: string
  status: number
  shape: Shape
  allow?: string
  /** The body to send (JSON), else none. */
  body?: unknown
  /** Sent as text/plain instead of JSON (a 415). */
  text?: boolean
  anonymous?: boolean
  /** Words the body must contain. */
  says?: string
}

const fastapi405 = '{"detail":"Method Not Allowed"}'
const fastapi404 = '{"detail":"Not Found"}'

/**
 * Every route family answers its errors in its own shape (seeds 000-003 their original's, the gateway's own routes
 * /v1's), a wrong method on a known path is a 405 with Allow, and a path no method serves is a 404 under every
 * method: one gateway with a token, over a real socket.
 */
const cases: Case[] = [
  // /v1 and the gateway's own routes: the /v1 envelope
  { method: 'GET', path: '/v1/nothing', status: 404, shape: 'v1', says: 'the routes are listed at /docs' },
  { method: 'POST', path: '/v1/nothing', status: 404, shape: 'v1', says: 'the routes are listed at /docs' },
  {
    method: 'OPTIONS',
    path: '/v1/nothing',
    status: 404,
    shape: 'v1',
    says: 'the routes are listed at /docs',
  },
  { method: 'HEAD', path: '/v1/nothing', status: 404, shape: 'none' },
  { method: 'DELETE', path: '/v1/runs', status: 405, shape: 'v1', allow: 'GET, HEAD, POST', says: '/docs' },
  { method: 'OPTIONS', path: '/v1/runs', status: 405, shape: 'v1', allow: 'GET, HEAD, POST' },
  { method: 'POST', path: '/v1/runs/run_none', status: 405, shape: 'v1', allow: 'GET, HEAD' },
  { method: 'HEAD', path: '/v1/runs/run_none/cancel', status: 405, shape: 'none', allow: 'POST' },
  { method: 'GET', path: '/v1/runs/run_none', status: 404, shape: 'v1' },
  { method: 'POST', path: '/v1/runs', status: 400, shape: 'v1', body: {} },
  { method: 'POST', path: '/v1/runs', status: 415, shape: 'v1', body: { prompt: 'x' }, text: true },
  { method: 'DELETE', path: '/v1/runs', status: 401, shape: 'v1', anonymous: true },
  { method: 'GET', path: '/v1/nothing', status: 401, shape: 'v1', anonymous: true },
  { method: 'GET', path: '/docs/anything', status: 404, shape: 'v1', says: 'the routes are listed at /docs' },
  {
    method: 'POST',
    path: '/docs/anything',
    status: 404,
    shape: 'v1',
    says: 'the routes are listed at /docs',
  },
  { method: 'DELETE', path: '/docs/static/anything.js', status: 404, shape: 'v1' },
  { method: 'POST', path: '/docs', status: 405, shape: 'v1', allow: 'GET, HEAD' },
  { method: 'POST', path: '/docs/json', status: 405, shape: 'v1', allow: 'GET, HEAD' },
  { method: 'POST', path: '/openapi.json', status: 405, shape: 'v1', allow: 'GET, HEAD' },
  { method: 'POST', path: '/health', status: 405, shape: 'v1', allow: 'GET, HEAD' },
  { method: 'GET', path: '/metrics', status: 401, shape: 'v1', anonymous: true },
  { method: 'GET', path: '/docs/json', status: 401, shape: 'v1', anonymous: true },
  // seed 000 (FastAPI): {error, details, provider}; a wrong method as FastAPI answers it
  { method: 'POST', path: '/hello', status: 405, shape: 'fastapi', allow: 'GET', says: fastapi405 },
  // GET /hello runs the agent: FastAPI's `@app.get` has no HEAD, and a HEAD must never start a run
  { method: 'HEAD', path: '/hello', status: 405, shape: 'none', allow: 'GET' },
  { method: 'GET', path: '/chat', status: 405, shape: 'fastapi', allow: 'POST', says: fastapi405 },
  { method: 'OPTIONS', path: '/chat', status: 405, shape: 'fastapi', allow: 'POST', says: fastapi405 },
  { method: 'POST', path: '/chat', status: 400, shape: 'codex-api-plan', body: {} },
  { method: 'POST', path: '/chat', status: 415, shape: 'codex-api-plan', body: { prompt: 'x' }, text: true },
  {
    method: 'POST',
    path: '/chat',
    status: 401,
    shape: 'codex-api-plan',
    anonymous: true,
    body: { prompt: 'x' },
  },
  // seed 001 (codex.serve, a FastAPI app too): {detail}; a wrong method as FastAPI answers it, a body its model
  // refuses as FastAPI's 422
  { method: 'PUT', path: '/clis', status: 405, shape: 'fastapi', allow: 'GET', says: fastapi405 },
  { method: 'GET', path: '/run', status: 405, shape: 'fastapi', allow: 'POST', says: fastapi405 },
  { method: 'POST', path: '/run', status: 422, shape: 'fastapi', body: {} },
  // seed 002 (FastAPI): {detail}, as its HTTPException answered; a wrong method as FastAPI answers it, and a body
  // its model refuses (text/plain included: FastAPI read it as bytes) as FastAPI's 422
  { method: 'GET', path: '/api/codex/run', status: 405, shape: 'fastapi', allow: 'POST', says: fastapi405 },
  {
    method: 'GET',
    path: '/api/codex/stream',
    status: 405,
    shape: 'fastapi',
    allow: 'POST',
    says: fastapi405,
  },
  { method: 'POST', path: '/api/codex/run', status: 400, shape: 'fastapi', body: { prompt: '' } },
  {
    method: 'POST',
    path: '/api/codex/stream',
    status: 401,
    shape: 'fastapi',
    anonymous: true,
    body: { prompt: 'x' },
    says: 'bearer token',
  },
  {
    method: 'POST',
    path: '/api/codex/run',
    status: 422,
    shape: 'fastapi',
    body: {},
    says: '"type":"missing"',
  },
  {
    method: 'POST',
    path: '/api/codex/stream',
    status: 422,
    shape: 'fastapi',
    body: { prompt: 'x' },
    text: true,
    says: '"type":"model_attributes_type"',
  },
  // seed 003 (FastAPI): {detail}
  {
    method: 'GET',
    path: '/api/thread/start',
    status: 405,
    shape: 'fastapi',
    allow: 'POST',
    says: fastapi405,
  },
  { method: 'HEAD', path: '/api/thread/start', status: 405, shape: 'none', allow: 'POST' },
  {
    method: 'POST',
    path: '/api/thread/read',
    status: 422,
    shape: 'fastapi',
    body: {},
    says: '"type":"missing"',
  },
  {
    method: 'POST',
    path: '/api/turn/start',
    status: 400,
    shape: 'fastapi',
    body: { threadId: 't', input: [] },
  },
  // an unknown thread: app-server's error as the original passed it on, 400 with an object detail
  {
    method: 'POST',
    path: '/api/thread/read',
    status: 400,
    shape: 'fastapi',
    body: { threadId: 'none' },
    says: '{"detail":{"code":-32600,"message":"invalid thread id: ',
  },
  {
    method: 'POST',
    path: '/api/thread/start',
    status: 422,
    shape: 'fastapi',
    body: {},
    text: true,
    says: '"type":"model_attributes_type"',
  },
  // an unknown path in a FastAPI seed's own folder: FastAPI's 404 (seeds 002 and 003); elsewhere the gateway's
  { method: 'GET', path: '/api/thread/nothing', status: 404, shape: 'fastapi', says: fastapi404 },
  { method: 'POST', path: '/api/thread/nothing', status: 404, shape: 'fastapi', says: fastapi404, body: {} },
  { method: 'POST', path: '/api/turn/stop', status: 404, shape: 'fastapi', says: fastapi404 },
  { method: 'GET', path: '/api/skills/config/read?x=1', status: 404, shape: 'fastapi', says: fastapi404 },
  { method: 'DELETE', path: '/api/skills', status: 404, shape: 'fastapi', says: fastapi404 },
  { method: 'GET', path: '/api/codex/nothing/deeper', status: 404, shape: 'fastapi', says: fastapi404 },
  { method: 'HEAD', path: '/api/codex/nothing', status: 404, shape: 'none' },
  { method: 'GET', path: '/api/thread/nothing', status: 401, shape: 'v1', anonymous: true },
  // the folder a FastAPI seed shares with nobody only: /api itself, and the root (seed 000), are everybody's
  { method: 'GET', path: '/api/nothing', status: 404, shape: 'v1', says: 'the routes are listed at /docs' },
  { method: 'GET', path: '/nothing', status: 404, shape: 'v1', says: 'the routes are listed at /docs' },
  { method: 'GET', path: '/api/threads/start', status: 404, shape: 'v1' },
  // seed 004: any other method on /agent/stream is a 404 (as the original's), its body an error frame
  { method: 'GET', path: '/agent/stream', status: 404, shape: 'agent-stream', says: '"NOT_FOUND"' },
  { method: 'PUT', path: '/agent/stream', status: 404, shape: 'agent-stream', body: { type: 'cancel' } },
  { method: 'DELETE', path: '/agent/stream', status: 404, shape: 'agent-stream', says: 'POST /agent/stream' },
  { method: 'OPTIONS', path: '/agent/stream', status: 404, shape: 'agent-stream' },
  { method: 'HEAD', path: '/agent/stream', status: 404, shape: 'none' },
  { method: 'GET', path: '/agent/stream', status: 401, shape: 'v1', anonymous: true },
  // /agent/ws is the gateway's own: /v1's
  { method: 'POST', path: '/agent/ws', status: 405, shape: 'v1', allow: 'GET, HEAD' },
  // a HEAD (as a GET) that is no upgrade is the websocket plugin's 404: no stream, no run
  { method: 'HEAD', path: '/agent/ws', status: 404, shape: 'none' },
]

gatewayModules()

describe('errors on every route family, in its shape', () => {
  const token = 'family-token'
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, { API_TOKENS: token })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it.each(cases)('$method $path -> $status ($shape)', async (c) => {
    const res = await fetch(gw.url + c.path, {
      method: c.method,
      headers: {
        ...(c.anonymous ? {} : { authorization: `Bearer ${token}` }),
        ...(c.body !== undefined ? { 'content-type': c.text ? 'text/plain' : 'application/json' } : {}),
      },
      ...(c.body !== undefined ? { body: JSON.stringify(c.body) } : {}),
    })
    const text = await res.text()
    expect({ status: res.status, shape: shapeOf(text), allow: res.headers.get('allow') }, text).toEqual({
      status: c.status,
      shape: c.shape,
      allow: c.allow ?? null,
    })
    if (c.says) expect(text).toContain(c.says)
    // FastAPI's own answers name no charset (Starlette's JSONResponse)
    if (c.shape === 'fastapi') expect(res.headers.get('content-type')).toBe('application/json')
  })

  /**
   * Seeds 002 and 003's originals let pages of any origin call them (Starlette's CORSMiddleware, origins `*`):
   * with API_TOKENS set their routes do too, the preflight answered without a token (browsers send none with
   * it), every answer to a request with an Origin readable; the gateway's other routes are left as they were.
   */
  it("seeds 002 and 003's routes answer pages of any origin: preflight before the token, Allow-Origin *", async () => {
    const origin = 'http://page.example:3000'
    const preflight = async (path: string) => {
      const res = await fetch(gw.url + path, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      })
      const headers = Object.fromEntries(
        [...res.headers].filter(([name]) => name.startsWith('access-control-')),
      )
      return { status: res.status, headers, body: await res.text() }
    }
    for (const path of [
      '/api/codex/stream',
      '/api/codex/run',
      '/api/thread/start',
      '/api/skills/config/write',
    ])
      expect(await preflight(path), path).toEqual({
        status: 200,
        headers: {
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': 'authorization,content-type',
          'access-control-max-age': '600',
        },
        body: 'OK',
      })
    // another route's preflight is refused as before: no token, 401, nothing allowed
    for (const path of ['/v1/runs', '/run', '/api/thread/nothing'])
      expect(await preflight(path), path).toMatchObject({ status: 401, headers: {} })

    const post = async (path: string, body: unknown, token?: string) => {
      const res = await fetch(gw.url + path, {
        method: 'POST',
        headers: {
          origin,
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      })
      await res.text()
      return { status: res.status, allowOrigin: res.headers.get('access-control-allow-origin') }
    }
    // a stranger still gets nothing but the 401, which the page may read; never a credentialed answer
    expect(await post('/api/codex/run', { prompt: 'x' })).toEqual({ status: 401, allowOrigin: '*' })
    expect(await post('/api/turn/start', { threadId: 't', input: [] }, 'wrong')).toEqual({
      status: 401,
      allowOrigin: '*',
    })
    expect(await post('/api/codex/stream', { prompt: '' }, token)).toEqual({ status: 400, allowOrigin: '*' })
    expect(await post('/api/thread/read', { threadId: 'none' }, token)).toEqual({
      status: 400,
      allowOrigin: '*',
    })
    expect(await post('/api/skills/list', { cwds: 5 }, token)).toEqual({ status: 422, allowOrigin: '*' })
    // the gateway's own routes, and seeds without CORS (000, 001), say nothing of it
    expect(await post('/v1/runs', {}, token)).toEqual({ status: 400, allowOrigin: null })
    expect(await post('/run', {}, token)).toEqual({ status: 422, allowOrigin: null })
    expect(await post('/chat', {}, token)).toEqual({ status: 400, allowOrigin: null })
    const credentialed = await fetch(`${gw.url}/api/codex/run`, { method: 'POST', headers: { origin } })
    expect(credentialed.headers.get('access-control-allow-credentials')).toBeNull()
  })
})

/** One request on an HTTP/2 session, its body as bytes (a length-prefixed frame is not UTF-8). */
function h2bytes(
  session: http2.ClientHttp2Session,
  method: string,
  contentType?: string,
): Promise<{ status: number; contentType: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = session.request(
      {
        ':method': method,
        ':path': '/agent/stream',
        ...(contentType ? { 'content-type': contentType } : {}),
      },
      { endStream: !contentType },
    )
    const chunks: Buffer[] = []
    let status = 0
    let type: string | undefined
    req.on('response', (h) => {
      status = Number(h[':status'])
      type = h['content-type']
    })
    req.on('data', (d: Buffer) => chunks.push(d))
    req.on('end', () => resolve({ status, contentType: type, body: Buffer.concat(chunks) }))
    req.on('error', reject)
    if (contentType) req.end('{"type":"cancel","sessionId":"s"}\n')
  })
}

/** The one error frame of a body in its framing. */
function errorFrameOf(body: Buffer, lengthPrefixed: boolean): Record<string, unknown> {
  if (!lengthPrefixed) {
    expect(body.toString().endsWith('\n')).toBe(true)
    return JSON.parse(body.toString()) as Record<string, unknown>
  }
  expect(body.readUInt32BE(0)).toBe(body.length - 4)
  return JSON.parse(body.subarray(4).toString()) as Record<string, unknown>
}

/**
 * Seed 004 over HTTP/2, where its clients are (h2c with prior knowledge and TLS h2): another method on
 * /agent/stream is a 404 whose body is one `error` frame in the request's framing, content type mirrored.
 */
describe('seed 004: another method on /agent/stream over h2c and TLS h2', () => {
  const cert = selfSignedCert()
  const gateways: TestGateway[] = []
  afterAll(async () => {
    for (const gw of gateways) await gw.close()
  })

  it.each(['h2c', 'tls h2'])('%s', async (transport) => {
    const tls = transport === 'tls h2'
    const gw = await startGateway(
      null,
      tls ? { TLS_CERT_PATH: cert.certPath, TLS_KEY_PATH: cert.keyPath } : {},
    )
    gateways.push(gw)
    const session = h2connect(gw.url, tls ? readFileSync(cert.certPath) : undefined)
    try {
      const cases = [
        { method: 'GET', contentType: undefined, answered: 'application/x-ndjson' },
        { method: 'PUT', contentType: 'application/x-ndjson', answered: 'application/x-ndjson' },
        {
          method: 'DELETE',
          contentType: 'application/length-prefixed-json',
          answered: 'application/length-prefixed-json',
        },
      ]
      for (const c of cases) {
        const res = await h2bytes(session, c.method, c.contentType)
        expect({ status: res.status, contentType: res.contentType }, c.method).toEqual({
          status: 404,
          contentType: c.answered,
        })
        expect(errorFrameOf(res.body, c.answered === 'application/length-prefixed-json')).toEqual({
          type: 'error',
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          code: 'NOT_FOUND',
          message: `Not Found: ${c.method} /agent/stream; the stream is POST /agent/stream (docs/agent-stream.md)`,
        })
      }
    } finally {
      session.close()
    }
  })
})
