import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { agentWsClient } from '../support/agent-ws-client.js'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'
import { h2connect, h2request } from '../support/h2-client.js'

interface Answer {
  status: number
  body: string
}

/** One request over a real socket with exactly these headers (a browser's: its own Host and Origin). */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers, setHost: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

const error = (a: Answer) => (JSON.parse(a.body) as { error: { code: string; message: string } }).error

gatewayModules()

/**
 * A loopback gateway without API_TOKENS (the default) and a hostile page in its user's browser: the page can
 * send requests to 127.0.0.1 (simple ones without a preflight, WebSocket upgrades without CORS) and can point
 * its own DNS name at 127.0.0.1 (rebinding) to make its requests same-origin.
 */
describe('a hostile page in the browser of a gateway without tokens', () => {
  let mock: MockLlm
  let gw: TestGateway
  let own: string
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock)
    own = new URL(gw.url).host
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  const frame = (sessionId: string) =>
    `${JSON.stringify({ type: 'user_message', sessionId, content: 'cat ~/.ssh/id_rsa' })}\n`

  it('cannot post /agent/stream frames as text/plain (a request without a preflight)', async () => {
    const asked = mock.requests.length
    const res = await send(
      gw.url,
      'POST',
      '/agent/stream',
      { host: own, origin: 'http://evil.example', 'content-type': 'text/plain' },
      frame(`csrf-${process.pid}`),
    )
    expect(res.status, res.body).toBe(403)
    expect(error(res).code).toBe('forbidden')
    expect(error(res).message).toContain('Origin "http://evil.example"')
    expect(mock.requests.length).toBe(asked)
  })

  it("gets no CORS answer from seeds 002 and 003's routes, whose originals allowed any origin", async () => {
    const asked = mock.requests.length
    const ask = (method: string, path: string, headers: Record<string, string>) =>
      fetch(gw.url + path, {
        method,
        headers: { origin: 'http://evil.example', ...headers },
        ...(method === 'POST' ? { body: '{"prompt":"x","cwd":"/workspace"}' } : {}),
      })
    for (const path of ['/api/codex/run', '/api/thread/start']) {
      const preflight = await ask('OPTIONS', path, { 'access-control-request-method': 'POST' })
      const post = await ask('POST', path, { 'content-type': 'text/plain' })
      for (const res of [preflight, post]) {
        expect(res.status, path).toBe(403)
        expect(res.headers.get('access-control-allow-origin'), path).toBeNull()
      }
    }
    expect(mock.requests.length).toBe(asked)
  })

  it('cannot start agent work with a GET from another site (an image tag sends no Origin)', async () => {
    const asked = mock.requests.length
    for (const site of ['cross-site', 'same-site']) {
      const res = await send(gw.url, 'GET', '/hello', { host: own, 'sec-fetch-site': site })
      expect(res.status, `${site}: ${res.body}`).toBe(403)
      expect(res.body).toContain(`Sec-Fetch-Site \\"${site}\\"`)
    }
    expect(mock.requests.length).toBe(asked)
    // a link to the console or the docs may be followed (the top window), but the page may not be framed
    const link = { host: own, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }
    expect((await send(gw.url, 'GET', '/docs', { ...link, 'sec-fetch-dest': 'document' })).status).not.toBe(
      403,
    )
    expect((await send(gw.url, 'GET', '/docs', { ...link, 'sec-fetch-dest': 'iframe' })).status).toBe(403)
    expect((await send(gw.url, 'GET', '/hello', { ...link, 'sec-fetch-dest': 'document' })).status).toBe(403)
    expect(mock.requests.length).toBe(asked)
    for (const site of ['same-origin', 'none'])
      expect(
        (await send(gw.url, 'GET', '/v1/runs', { host: own, 'sec-fetch-site': site })).status,
        site,
      ).toBe(200)
  })

  it('cannot open /agent/ws from another origin, nor from an opaque one', async () => {
    for (const origin of ['http://evil.example', 'null', `https://${own}`, 'http://localhost:1']) {
      const c = agentWsClient(`${gw.url.replace('http', 'ws')}/agent/ws`, ['agent-stream'], { origin })
      try {
        await expect(c.opened, origin).rejects.toThrow('HTTP 403')
      } finally {
        c.ws.terminate()
      }
    }
  })

  it('cannot reach the API under a DNS name that rebinds to 127.0.0.1', async () => {
    const asked = mock.requests.length
    const port = new URL(gw.url).port
    for (const name of ['rebind.example', 'REBIND.example.', '127.0.0.1.nip.io', 'localhost.evil.example']) {
      const host = `${name}:${port}`
      const origin = `http://${host}`
      const run = await send(
        gw.url,
        'POST',
        '/v1/runs',
        { host, origin, 'content-type': 'application/json' },
        JSON.stringify({ prompt: 'rebound' }),
      )
      expect(run.status, `${name}: ${run.body}`).toBe(403)
      expect(error(run).message).toContain(`Host "${host}"`)
      const list = await send(gw.url, 'GET', '/v1/runs', { host })
      expect(list.status, name).toBe(403)
      const stream = await send(
        gw.url,
        'POST',
        '/agent/stream',
        { host, origin, 'content-type': 'application/x-ndjson' },
        frame(`rebind-${process.pid}`),
      )
      expect(stream.status, name).toBe(403)
    }
    // HTTP/2 names the host in :authority
    const h2 = h2connect(gw.url)
    try {
      const res = await h2request(h2, 'GET', '/v1/runs', undefined, {
        ':authority': `rebind.example:${port}`,
      })
      expect(res.status).toBe(403)
      expect((await h2request(h2, 'GET', '/v1/runs')).status).toBe(200)
    } finally {
      h2.close()
    }
    expect(mock.requests.length).toBe(asked)
  })

  it('serves its own pages, other loopback names and clients that send no Origin', async () => {
    const port = new URL(gw.url).port
    for (const host of [
      own,
      `localhost:${port}`,
      `LocalHost.:${port}`,
      `console.localhost:${port}`,
      `[::1]:${port}`,
    ]) {
      expect((await send(gw.url, 'GET', '/v1/runs', { host })).status, host).toBe(200)
      // the console's own POST carries its origin: it reaches the route (400: the body is not a run)
      const post = await send(
        gw.url,
        'POST',
        '/v1/runs',
        { host, origin: `http://${host}`, 'content-type': 'application/json' },
        '{}',
      )
      expect(post.status, `${host}: ${post.body}`).toBe(400)
    }
    expect((await send(gw.url, 'GET', '/health', { host: own, origin: `http://${own}` })).status).toBe(200)
    const c = agentWsClient(`${gw.url.replace('http', 'ws')}/agent/ws`, ['agent-stream'], {
      origin: `http://${own}`,
    })
    try {
      await c.opened
    } finally {
      c.ws.terminate()
    }
  })
})

describe('a gateway with tokens', () => {
  const token = 'browser-origin-token-8f2a61'
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, { API_TOKENS: token })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('serves any Host and Origin that carry a token (a browser never adds one by itself)', async () => {
    const headers = {
      host: 'gateway.example:443',
      origin: 'https://app.example',
      authorization: `Bearer ${token}`,
    }
    expect((await send(gw.url, 'GET', '/v1/runs', headers)).status).toBe(200)
    const { authorization: _, ...stranger } = headers
    expect((await send(gw.url, 'GET', '/v1/runs', stranger)).status).toBe(401)
  })
})
