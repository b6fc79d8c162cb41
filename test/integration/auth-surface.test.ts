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
  const approverToken = 'auth-surface-approver-8b20f4'
  const tenantToken = 'auth-surface-tenant-61ac3d'
  const metricsToken = 'auth-surface-metrics-0e9a57'
  const auth = { authorization: `Bearer ${token}` }
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, {
      API_TOKENS: `${token},approver:${approverToken}:approve,team:${tenantToken}:admin:team-a`,
      METRICS_TOKEN: metricsToken,
    })
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

  it("learns from /health (GET and HEAD) only the seeds' fields; a token sees the report, a wrong one is a 401", async () => {
    // /health never waits for a probe: this one has answered, so codex_alive is the same in every answer
    await gw.ctx.registry.get('codex').probe()
    const seedsFields = { status: 'healthy', service: 'codex-streaming-api', codex_alive: true }
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` })
    // none, or another scheme (a proxy in front with Basic credentials passes them on): what a load balancer and
    // the seeds' clients read, in their order, as FastAPI sent it; not the agents' versions and sign-in state, the
    // store, the runs in flight, the container engine
    const stranger: Record<string, string>[] = [
      {},
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer ' },
    ]
    // a tenant's token: the report is the server's (its own agents, every tenant's runs counted), refused to it as
    // /metrics is; it sees its own at /v1/agents and /v1/runs
    for (const headers of [...stranger, bearer(tenantToken)]) {
      const res = await send(gw.url, 'GET', '/health', headers)
      expect(res.status, JSON.stringify(headers)).toBe(200)
      expect(res.body).toBe(JSON.stringify(seedsFields))
      expect(res.headers['content-type']).toBe('application/json')
      expect(res.headers.vary).toBe('authorization')
      const head = await send(gw.url, 'HEAD', '/health', headers)
      expect([head.status, head.body, head.headers['content-length']]).toEqual([
        200,
        '',
        String(Buffer.byteLength(res.body)),
      ])
    }
    // an untenanted token, whatever its scopes (this one has no `read`): the full report, the seeds' fields first
    for (const t of [token, approverToken]) {
      const res = await send(gw.url, 'GET', '/health', bearer(t))
      expect(res.status, t).toBe(200)
      const body = JSON.parse(res.body) as Record<string, unknown>
      expect(Object.keys(body)).toEqual([
        ...Object.keys(seedsFields),
        'agents',
        'store',
        'runs',
        'containers',
      ])
      expect(body).toMatchObject({ ...seedsFields, runs: { running: 0, queued: 0 } })
      const head = await send(gw.url, 'HEAD', '/health', bearer(t))
      expect([head.status, head.headers['content-length']]).toEqual([
        200,
        String(Buffer.byteLength(res.body)),
      ])
    }
    // a token sent is checked: a wrong or revoked one is a 401 (and METRICS_TOKEN opens /metrics only), never
    // answered as if no token had come
    for (const wrong of ['not-a-token', `${token}x`, metricsToken]) {
      for (const method of ['GET', 'HEAD']) {
        const res = await send(gw.url, method, '/health', bearer(wrong))
        expect(res.status, `${method} ${wrong}`).toBe(401)
        if (method === 'GET')
          expect(JSON.parse(res.body)).toEqual({
            error: { code: 'unauthorized', message: expect.stringMatching(/^invalid bearer token/) },
          })
      }
    }
    expect((await send(gw.url, 'GET', '/metrics', bearer(metricsToken))).status).toBe(200)
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
