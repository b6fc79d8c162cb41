import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, type TestGateway } from '../support/gateway.js'

type Shape = 'v1' | 'codex-api-plan' | 'plain' | 'fastapi' | 'none'

/** Which family's error shape a body has (src/http/errors.ts `errorBody`); 'none' for no body (a HEAD). */
function shapeOf(text: string): Shape | string {
  if (text === '') return 'none'
  const body = JSON.parse(text) as Record<string, unknown>
  const keys = Object.keys(body).sort().join(',')
  if (keys === 'error' && typeof body.error === 'object') return 'v1'
  if (keys === 'details,error,provider') return 'codex-api-plan'
  if (keys === 'code,error' || keys === 'code,details,error') return 'plain'
  if (keys === 'detail') return 'fastapi'
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
  { method: 'POST', path: '/hello', status: 405, shape: 'fastapi', allow: 'GET, HEAD', says: fastapi405 },
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
  // seed 001: {error, code}
  { method: 'PUT', path: '/clis', status: 405, shape: 'plain', allow: 'GET, HEAD' },
  { method: 'GET', path: '/run', status: 405, shape: 'plain', allow: 'POST' },
  { method: 'POST', path: '/run', status: 400, shape: 'plain', body: {} },
  // seed 002 (FastAPI): {error, code}; a wrong method as FastAPI answers it
  { method: 'GET', path: '/api/codex/run', status: 405, shape: 'fastapi', allow: 'POST', says: fastapi405 },
  {
    method: 'GET',
    path: '/api/codex/stream',
    status: 405,
    shape: 'fastapi',
    allow: 'POST',
    says: fastapi405,
  },
  { method: 'POST', path: '/api/codex/run', status: 400, shape: 'plain', body: {} },
  { method: 'POST', path: '/api/codex/run', status: 415, shape: 'plain', body: { prompt: 'x' }, text: true },
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
  { method: 'POST', path: '/api/thread/read', status: 400, shape: 'fastapi', body: {} },
  { method: 'POST', path: '/api/thread/read', status: 404, shape: 'fastapi', body: { threadId: 'none' } },
  { method: 'POST', path: '/api/thread/start', status: 415, shape: 'fastapi', body: {}, text: true },
  // seed 004 (no error body of its own over HTTP): /v1's
  { method: 'GET', path: '/agent/stream', status: 405, shape: 'v1', allow: 'POST' },
]

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
  })
})
