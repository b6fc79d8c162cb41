import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'

interface Answer {
  status: number
  body: string
  headers: http.IncomingHttpHeaders
}

/** One request over a real socket with the path sent exactly as given (no URL parser normalises it). */
function send(
  base: string,
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path: rawPath, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

const holdsDocument = (body: string) => /"openapi"\s*:|^openapi:/m.test(body)

gatewayModules()

/**
 * What a stranger (no token) reaches when API_TOKENS is set: /health and the pages that carry no data, nothing
 * else, whatever the spelling of the path. Authentication follows the route the request was routed to, and the
 * router matches the decoded path.
 */
describe('a stranger without a token', () => {
  const token = 'auth-surface-token-5d1c9e'
  const auth = { authorization: `Bearer ${token}` }
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, { API_TOKENS: token })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('reaches /health and the documentation pages', async () => {
    for (const path of [
      '/health',
      '/health?x=1',
      '/docs',
      '/docs/',
      '/redoc',
      '/redoc/redoc.standalone.js',
    ]) {
      const res = await send(gw.url, 'GET', path)
      expect(res.status, path).toBe(200)
      expect(holdsDocument(res.body), path).toBe(false)
      // no other page may frame the documentation pages (they had no such header; the console has its own)
      if (path !== '/health' && path !== '/health?x=1')
        expect(res.headers, path).toMatchObject({
          'content-security-policy': "frame-ancestors 'none'",
          'x-frame-options': 'DENY',
          'x-content-type-options': 'nosniff',
        })
    }
  })

  it('gets a 400 envelope, with or without a token, for a path the router cannot read', async () => {
    // refused before any route (or its authentication) is reached: Fastify's own body and 414 before
    for (const [path, fastifyCode] of [
      ['/v1/runs/%E0%A4%A', 'FST_ERR_BAD_URL'],
      ['/docs/%zz', 'FST_ERR_BAD_URL'],
      [`/v1/runs/${'x'.repeat(101)}`, 'FST_ERR_MAX_PARAM_LENGTH'],
      [`/v1/sessions/${'x'.repeat(500)}/events`, 'FST_ERR_MAX_PARAM_LENGTH'],
    ] as const) {
      for (const headers of [{}, auth]) {
        const res = await send(gw.url, 'GET', path, headers)
        expect(res.status, path).toBe(400)
        expect(JSON.parse(res.body), path).toEqual({
          error: { code: 'invalid_request', message: expect.any(String), details: { fastifyCode } },
        })
        expect(res.body).not.toContain(token)
      }
    }
  })

  it('never gets the OpenAPI document, however its path is spelled', async () => {
    const spellings = [
      '/openapi.json',
      '/docs/json',
      '/docs/yaml',
      '/docs/json?x=1',
      '/docs/%6Ason',
      '/docs/%6a%73%6f%6e',
      '/docs/%79aml',
      '/%64ocs/json',
      '/docs/%6Ason?x=1',
      '/docs/./json',
      '/docs/../docs/json',
      '/docs/static/../json',
      '/docs/%2e/json',
      '/docs/x/%2E%2E/json',
      '/docs/x\\..\\json',
      '/docs/x/..%5Cjson',
      '/docs/x#/../json',
    ]
    for (const path of spellings) {
      const res = await send(gw.url, 'GET', path)
      expect(holdsDocument(res.body), `${path}: ${res.status} ${res.body.slice(0, 80)}`).toBe(false)
      expect([401, 404], path).toContain(res.status)
    }
    // the token opens it, under any spelling that routes to it
    for (const path of ['/openapi.json', '/docs/json', '/docs/%6Ason', '/docs/%79aml']) {
      const res = await send(gw.url, 'GET', path, auth)
      expect(res.status, path).toBe(200)
      expect(holdsDocument(res.body), path).toBe(true)
    }
  })

  it('gets 401 from every documented operation, in every method, and from the hidden routes', async () => {
    const doc = JSON.parse((await send(gw.url, 'GET', '/openapi.json', auth)).body) as {
      paths: Record<string, Record<string, unknown>>
    }
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
    )
    expect(operations.length).toBeGreaterThan(20)
    const probes = [
      ...operations,
      ...operations.filter((o) => o.method === 'GET').map((o) => ({ method: 'HEAD', path: o.path })),
      ...operations.map((o) => ({ method: 'OPTIONS', path: o.path })),
      { method: 'GET', path: '/metrics' },
      { method: 'GET', path: '/no/such/route' },
    ]
    for (const { method, path } of probes) {
      if (path === '/health') continue
      const concrete = path.replace(/\{[^}]+\}/g, 'x')
      const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH'
      const res = await send(
        gw.url,
        method,
        concrete,
        hasBody ? { 'content-type': 'application/json' } : {},
        hasBody ? '{}' : undefined,
      )
      expect(res.status, `${method} ${concrete}`).toBe(401)
    }
  })
})
