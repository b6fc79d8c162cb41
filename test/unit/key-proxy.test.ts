import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { KeyProxy } from '../../src/process/key-proxy/key-proxy.js'
import { selfSignedCert } from '../support/h2-client.js'
import { tempDir } from '../support/temp.js'

/**
 * The key proxy over real sockets: an upstream on 127.0.0.1 records what it got; agents' requests go through
 * the proxy with tokens it minted.
 */
interface Seen {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

const keys = {
  openai: 'sk-real-openai-0123456789',
  anthropic: 'real-anthropic-0123456789',
  gemini: 'real-gemini-0123456789',
}

/** A websocket upgrade through `proxy` with a fresh openai token: 101, and 'ping' comes back. Returns the token. */
async function expectUpgradeEchoes(proxy: KeyProxy): Promise<string> {
  const token = proxy.mint('openai')
  const req = http.request({
    host: '127.0.0.1',
    port: proxy.port,
    path: '/openai/responses',
    headers: { authorization: `Bearer ${token}`, connection: 'Upgrade', upgrade: 'websocket' },
  })
  req.end()
  const [res, socket] = (await once(req, 'upgrade')) as [IncomingMessage, Socket]
  try {
    expect(res.statusCode).toBe(101)
    socket.write('ping')
    const [echo] = (await once(socket, 'data')) as [Buffer]
    expect(echo.toString()).toBe('ping')
  } finally {
    socket.destroy()
  }
  return token
}

describe('KeyProxy', () => {
  let upstream: http.Server
  let upstreamUrl: string
  let seen: Seen[] = []
  /** What the upstream answers; the default echoes 200 {ok:true}. */
  let answer: (req: IncomingMessage, res: ServerResponse) => void
  let proxy: KeyProxy
  const tokenEvents: [string, boolean][] = []
  const upgradeSockets = new Set<Socket>()

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
        answer(req, res)
      })
    })
    // a websocket-like upgrade: 101, then every byte echoed back
    upstream.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '' })
      upgradeSockets.add(socket)
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
      socket.pipe(socket)
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
    proxy = await KeyProxy.start(
      [
        { provider: 'openai', url: `${upstreamUrl}/v1`, key: keys.openai },
        { provider: 'anthropic', url: upstreamUrl, key: keys.anthropic },
        { provider: 'gemini', url: `${upstreamUrl}/`, key: keys.gemini },
      ],
      { onToken: (token, live) => tokenEvents.push([token, live]) },
    )
  })
  afterAll(async () => {
    await proxy?.close()
    for (const s of upgradeSockets) s.destroy()
    upstream?.closeAllConnections()
    await new Promise((r) => upstream?.close(r))
  })
  beforeEach(() => {
    seen = []
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
  })

  it('listens on 127.0.0.1 only and names a base URL per provider', () => {
    expect(proxy.url('openai')).toBe(`http://127.0.0.1:${proxy.port}/openai`)
    expect(proxy.fronts('gemini')).toBe(true)
  })

  it('swaps an OpenAI bearer token for the key and forwards below the upstream base path', async () => {
    const token = proxy.mint('openai')
    const res = await fetch(`${proxy.url('openai')}/responses?stream=true&q=a%3Ab+c`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', host: 'evil.example' },
      body: '{"model":"m"}',
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true })
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/v1/responses?stream=true&q=a%3Ab+c',
      body: '{"model":"m"}',
    })
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${keys.openai}`)
    expect(seen[0]?.headers.host).toBe(new URL(upstreamUrl).host)
    expect(JSON.stringify(seen[0]?.headers)).not.toContain(token)
  })

  it("swaps Anthropic's x-api-key, and Gemini's x-goog-api-key and ?key=", async () => {
    const a = proxy.mint('anthropic')
    await fetch(`${proxy.url('anthropic')}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'x-api-key': a },
      body: '{}',
    })
    const g = proxy.mint('gemini')
    await fetch(`${proxy.url('gemini')}/v1beta/models/m:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': g },
      body: '{}',
    })
    await fetch(`${proxy.url('gemini')}/v1beta/models?key=${g}&pageSize=5`)
    expect(seen.map((s) => s.url)).toEqual([
      '/v1/messages?beta=true',
      '/v1beta/models/m:streamGenerateContent?alt=sse',
      '/v1beta/models?pageSize=5',
    ])
    expect(seen[0]?.headers['x-api-key']).toBe(keys.anthropic)
    expect(seen[1]?.headers['x-goog-api-key']).toBe(keys.gemini)
    expect(seen[2]?.headers['x-goog-api-key']).toBe(keys.gemini)
    for (const s of seen) expect(JSON.stringify(s)).not.toMatch(/agp-/)
  })

  it('refuses a missing, unknown or revoked token, and a token of another provider, with 401', async () => {
    const token = proxy.mint('openai')
    const ask = (headers: Record<string, string>, provider = 'openai') =>
      fetch(`http://127.0.0.1:${proxy.port}/${provider}/responses`, { method: 'POST', headers, body: '{}' })
    expect((await ask({})).status).toBe(401)
    expect((await ask({ authorization: 'Bearer agp-made-up' })).status).toBe(401)
    expect((await ask({ authorization: `Bearer ${keys.openai}` })).status).toBe(401)
    expect((await ask({ 'x-api-key': token }, 'anthropic')).status).toBe(401)
    expect((await ask({ authorization: `Bearer ${token}` })).status).toBe(200)
    proxy.revoke(token)
    const revoked = await ask({ authorization: `Bearer ${token}` })
    expect(revoked.status).toBe(401)
    expect(await revoked.json()).toEqual({
      error: { code: 'unauthorized', message: 'unknown or revoked token' },
    })
    expect(seen).toHaveLength(1)
  })

  it('tells the redactor about each token while it lives', () => {
    const token = proxy.mint('anthropic')
    expect(tokenEvents.at(-1)).toEqual([token, true])
    proxy.revoke(token)
    expect(tokenEvents.at(-1)).toEqual([token, false])
    proxy.revoke(token)
    expect(tokenEvents.filter(([t]) => t === token)).toHaveLength(2)
  })

  it('is no open proxy: other providers, dot segments, encoded separators, absolute targets and CONNECT are refused', async () => {
    const token = proxy.mint('openai')
    const headers = { authorization: `Bearer ${token}` }
    const at = (path: string) => fetch(`http://127.0.0.1:${proxy.port}${path}`, { headers })
    expect((await at('/copilot/chat/completions')).status).toBe(404)
    expect((await at('/')).status).toBe(404)
    // fetch normalises dot segments itself: raw request lines keep them; an absolute-form target names a host
    for (const target of [
      '/openai/../admin',
      '/openai/..',
      '/openai/./responses',
      '/openai/a/.',
      '/openai/%2e%2e/admin',
      '/openai/a/%2E/b',
      '/openai/a%2fb',
      '/openai/a%5Cb',
      '/openai/a\\b',
      'http://evil.example/openai/responses',
    ]) {
      const reply = await raw(
        proxy.port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
      )
      expect(reply, target).toMatch(/^HTTP\/1\.1 400 /)
    }
    const connect = await raw(
      proxy.port,
      'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n',
    )
    expect(connect).toMatch(/^HTTP\/1\.1 405 /)
    expect(seen).toEqual([])
  })

  it('forwards a path as sent when its dots and escapes make no dot segment nor separator', async () => {
    const token = proxy.mint('openai')
    const headers = { authorization: `Bearer ${token}` }
    for (const target of [
      '/openai',
      '/openai/',
      '/openai//x',
      '/openai/v1.5/...',
      '/openai/a%20b/.x',
      '/openai/m?',
    ])
      expect(
        await raw(
          proxy.port,
          `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
        ),
        target,
      ).toMatch(/^HTTP\/1\.1 200 /)
    expect(seen.map((s) => s.url)).toEqual([
      '/v1/',
      '/v1/',
      '/v1//x',
      '/v1/v1.5/...',
      '/v1/a%20b/.x',
      '/v1/m',
    ])
    expect((await fetch(`${proxy.url('openai')}/responses`, { headers })).status).toBe(200)
    expect(seen.at(-1)?.url).toBe('/v1/responses')
  })

  it('streams an answer through as it comes (SSE: the second event is sent once the first arrived)', async () => {
    let sendSecond: () => void = () => {}
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: one\n\n')
      sendSecond = () => res.end('data: two\n\n')
    }
    const token = proxy.mint('openai')
    const res = await fetch(`${proxy.url('openai')}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: '{}',
    })
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    const first = await reader.read()
    expect(decoder.decode(first.value)).toBe('data: one\n\n')
    sendSecond()
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value)
    expect(rest).toBe('data: two\n\n')
  })

  it('passes an upstream error status and body through unchanged', async () => {
    answer = (_req, res) => res.writeHead(429, { 'retry-after': '7' }).end('slow down')
    const token = proxy.mint('anthropic')
    const res = await fetch(`${proxy.url('anthropic')}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token },
      body: '{}',
    })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('7')
    expect(await res.text()).toBe('slow down')
  })

  it('forwards a websocket upgrade with the key swapped, and bytes both ways', async () => {
    await expectUpgradeEchoes(proxy)
    expect(seen[0]?.url).toBe('/v1/responses')
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${keys.openai}`)
    const refused = await raw(
      proxy.port,
      'GET /openai/responses HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nAuthorization: Bearer agp-nope\r\n\r\n',
    )
    expect(refused).toMatch(/^HTTP\/1\.1 401 /)
  })

  it("closes the agent's connection when the upstream closed its kept-alive one, as the upstream itself would", async () => {
    // each agent connection is paired with one upstream connection: the agent's client sees what it would see
    // talking to the upstream directly (its connection closed while idle), and opens a new one for its next call
    const idle = http.createServer((req, res) => {
      req.resume()
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":1}'))
    })
    idle.listen(0, '127.0.0.1')
    await once(idle, 'listening')
    const port = (idle.address() as AddressInfo).port
    const own = await KeyProxy.start([
      { provider: 'openai', url: `http://127.0.0.1:${port}/v1`, key: 'k-0123456789' },
    ])
    const agent = net.connect(own.port, '127.0.0.1')
    try {
      const token = own.mint('openai')
      agent.write(
        `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 2\r\n\r\n{}`,
      )
      let got = ''
      agent.on('data', (c) => {
        got += c
      })
      // the whole answer (chunked): the connection is idle on both sides
      await until(() => got.endsWith('\r\n0\r\n\r\n'))
      expect(got).toMatch(/^HTTP\/1\.1 200 [\s\S]*\{"ok":1\}/)
      const ended = once(agent, 'end')
      idle.closeIdleConnections()
      await ended
    } finally {
      agent.destroy()
      await own.close()
      idle.closeAllConnections()
      await new Promise((r) => idle.close(r))
    }
  })

  it('makes up no answer when the upstream closes without one (its close reaches the agent), and refuses a body over 64 MB with 413', async () => {
    const bodies: string[] = []
    const rude = http.createServer((req) => {
      req.on('data', () => {})
      req.on('end', () => {
        bodies.push('x')
        req.socket.destroy()
      })
    })
    rude.listen(0, '127.0.0.1')
    await once(rude, 'listening')
    const port = (rude.address() as AddressInfo).port
    const own = await KeyProxy.start([
      { provider: 'openai', url: `http://127.0.0.1:${port}/v1`, key: 'k-0123456789' },
    ])
    try {
      const headers = { authorization: `Bearer ${own.mint('openai')}` }
      const call = (url: string) => fetch(url, { method: 'POST', headers, body: '{}' })
      // what the agent sees is what it sees talking to the upstream directly
      const direct = await call(`http://127.0.0.1:${port}/v1/responses`).catch((e: Error) => e)
      const proxied = await call(`${own.url('openai')}/responses`).catch((e: Error) => e)
      expect(direct).toBeInstanceOf(Error)
      expect(proxied).toBeInstanceOf(Error)
      expect(String((proxied as Error).cause)).toBe(String((direct as Error).cause))
      expect(bodies).toHaveLength(2)
      const huge = await fetch(`${own.url('openai')}/responses`, {
        method: 'POST',
        headers,
        body: Buffer.alloc(64 * 1024 * 1024 + 1, 0x20),
      })
      expect(huge.status).toBe(413)
      expect(await huge.json()).toMatchObject({ error: { code: 'body_too_large' } })
      expect(bodies).toHaveLength(2)
    } finally {
      await own.close()
      rude.closeAllConnections()
      await new Promise((r) => rude.close(r))
    }
  })

  it('answers 502 when the upstream cannot be reached', async () => {
    const closed = net.createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const port = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    const lonely = await KeyProxy.start([
      { provider: 'openai', url: `http://127.0.0.1:${port}/v1`, key: 'k-0123456789' },
    ])
    try {
      const res = await fetch(`${lonely.url('openai')}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${lonely.mint('openai')}` },
        body: '{}',
      })
      expect(res.status).toBe(502)
      expect(await res.json()).toMatchObject({ error: { code: 'bad_gateway' } })
    } finally {
      await lonely.close()
    }
  })

  it("serves on a thread of its own: answers an agent while the gateway's event loop is busy", async () => {
    const out = path.join(tempDir('key-proxy-'), 'status')
    const child = spawn(process.execPath, [
      '-e',
      `const fs = require('node:fs'), [url, out] = process.argv.slice(1)
      const write = (s) => { fs.writeFileSync(out + '.part', s); fs.renameSync(out + '.part', out) }
      fetch(url, { method: 'POST', headers: { authorization: 'Bearer agp-unknown' }, body: '{}' })
        .then((r) => write(String(r.status)), (e) => write(e.message))`,
      `${proxy.url('openai')}/responses`,
      out,
    ])
    await once(child, 'spawn')
    // this thread stays busy until the agent has its answer (10 s at most): a proxy on it could not answer
    const nap = new Int32Array(new SharedArrayBuffer(4))
    const until = Date.now() + 10_000
    while (!existsSync(out) && Date.now() < until) Atomics.wait(nap, 0, 0, 10)
    expect(existsSync(out) ? readFileSync(out, 'utf8') : 'no answer while the loop was busy').toBe('401')
    if (child.exitCode === null) await once(child, 'exit')
  })

  it('starts its thread again on the same port when it died, with the tokens that were live', async () => {
    const ended: Array<Error | undefined> = []
    let restarted: () => void = () => {}
    const again = new Promise<void>((resolve) => {
      restarted = resolve
    })
    const own = await KeyProxy.start([{ provider: 'openai', url: `${upstreamUrl}/v1`, key: keys.openai }], {
      onThreadEnded: (error) => {
        ended.push(error)
        restarted()
      },
    })
    try {
      const token = own.mint('openai')
      const port = own.port
      await own.crashThread()
      await again
      await own.ready()
      expect(own.port).toBe(port)
      const res = await fetch(`${own.url('openai')}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: '{}',
      })
      expect(res.status).toBe(200)
      expect(seen.at(-1)?.headers.authorization).toBe(`Bearer ${keys.openai}`)
      expect(ended).toHaveLength(1)
      own.revoke(token)
      const revoked = await fetch(`${own.url('openai')}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: '{}',
      })
      expect(revoked.status).toBe(401)
    } finally {
      await own.close()
    }
  })

  it('ends its thread on close (nothing listens on its port), and says why when its thread cannot start', async () => {
    const own = await KeyProxy.start([{ provider: 'openai', url: `${upstreamUrl}/v1`, key: keys.openai }])
    const port = own.port
    await own.close()
    expect(own.isReady).toBe(false)
    await expect(fetch(`http://127.0.0.1:${port}/openai/responses`)).rejects.toThrow()
    await expect(own.ready()).rejects.toThrow(/closed/)
    const broken = KeyProxy.create([{ provider: 'openai', url: 'not a url', key: keys.openai }])
    try {
      await expect(broken.ready()).rejects.toThrow(/the key proxy could not start: .*Invalid URL/)
      expect(broken.isReady).toBe(false)
    } finally {
      await broken.close()
    }
  })

  describe("behind an egress proxy (the server's HTTP_PROXY / HTTPS_PROXY)", () => {
    /** What the egress proxy was asked: method, target and headers. */
    let through: Array<{ method: string; target: string; headers: http.IncomingHttpHeaders }> = []
    let egress: http.Server
    let egressUrl: string
    const tunnels = new Set<net.Socket>()
    beforeAll(async () => {
      egress = http.createServer((req, res) => {
        through.push({ method: req.method ?? '', target: req.url ?? '', headers: req.headers })
        const target = new URL(req.url ?? '')
        const up = http.request({
          hostname: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: req.method,
          headers: req.headers,
        })
        up.on('response', (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        })
        up.on('error', () => res.destroy())
        req.pipe(up)
      })
      egress.on('connect', (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
        through.push({ method: 'CONNECT', target: req.url ?? '', headers: req.headers })
        const [host = '', port = ''] = (req.url ?? '').split(':')
        const up = net.connect(Number(port), host, () => {
          socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
          up.write(head)
          up.pipe(socket).pipe(up)
        })
        tunnels.add(socket).add(up)
        up.on('error', () => socket.destroy())
        socket.on('error', () => up.destroy())
      })
      egress.listen(0, '127.0.0.1')
      await once(egress, 'listening')
      egressUrl = `http://127.0.0.1:${(egress.address() as AddressInfo).port}`
    })
    afterAll(async () => {
      for (const s of tunnels) s.destroy()
      egress?.closeAllConnections()
      await new Promise((r) => egress?.close(r))
    })
    beforeEach(() => {
      through = []
    })

    it('sends an http upstream call through it (absolute form): it sees the real key, never the token', async () => {
      const own = await KeyProxy.start(
        [{ provider: 'openai', url: `${upstreamUrl}/v1`, key: keys.openai }],
        {},
        { egress: { httpProxy: egressUrl } },
      )
      try {
        const token = own.mint('openai')
        const res = await fetch(`${own.url('openai')}/responses?x=1`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: '{"a":1}',
        })
        expect(res.status).toBe(200)
        expect(through).toHaveLength(1)
        expect(through[0]).toMatchObject({ method: 'POST', target: `${upstreamUrl}/v1/responses?x=1` })
        expect(through[0]?.headers.authorization).toBe(`Bearer ${keys.openai}`)
        expect(JSON.stringify(through)).not.toContain(token)
        expect(seen.at(-1)).toMatchObject({ url: '/v1/responses?x=1', body: '{"a":1}' })
        expect(seen.at(-1)?.headers.authorization).toBe(`Bearer ${keys.openai}`)
      } finally {
        await own.close()
      }
    })

    it('tunnels a websocket upgrade to an http upstream (CONNECT: proxies refuse an absolute-form upgrade)', async () => {
      const own = await KeyProxy.start(
        [{ provider: 'openai', url: `${upstreamUrl}/v1`, key: keys.openai }],
        {},
        { egress: { httpProxy: egressUrl } },
      )
      try {
        const token = await expectUpgradeEchoes(own)
        expect(through).toHaveLength(1)
        expect(through[0]).toMatchObject({ method: 'CONNECT', target: new URL(upstreamUrl).host })
        expect(seen.at(-1)).toMatchObject({ url: '/v1/responses' })
        expect(seen.at(-1)?.headers.authorization).toBe(`Bearer ${keys.openai}`)
        expect(JSON.stringify(through)).not.toContain(token)
      } finally {
        await own.close()
      }
    })

    it('goes direct to a host NO_PROXY names', async () => {
      const own = await KeyProxy.start(
        [{ provider: 'openai', url: `${upstreamUrl}/v1`, key: keys.openai }],
        {},
        { egress: { httpProxy: egressUrl, noProxy: 'internal.example, 127.0.0.1' } },
      )
      try {
        const res = await fetch(`${own.url('openai')}/responses`, {
          method: 'POST',
          headers: { authorization: `Bearer ${own.mint('openai')}` },
          body: '{}',
        })
        expect(res.status).toBe(200)
        expect(through).toEqual([])
      } finally {
        await own.close()
      }
    })

    it('tunnels an https upstream call (CONNECT, TLS inside): the proxy sees neither key nor token', async () => {
      const { certPath, keyPath } = selfSignedCert()
      const got: Array<{ url: string; key: string | undefined }> = []
      const secure = https.createServer(
        { key: readFileSync(keyPath), cert: readFileSync(certPath) },
        (req, res) => {
          got.push({ url: req.url ?? '', key: req.headers['x-api-key'] as string | undefined })
          req.resume()
          req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"tls":true}'))
        },
      )
      secure.listen(0, '127.0.0.1')
      await once(secure, 'listening')
      const port = (secure.address() as AddressInfo).port
      // the thread's env is a copy of this one's when it starts: it trusts the self-signed upstream
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
      const own = await KeyProxy.start(
        [{ provider: 'anthropic', url: `https://127.0.0.1:${port}`, key: keys.anthropic }],
        {},
        { egress: { httpsProxy: egressUrl } },
      ).finally(() => {
        delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
      })
      try {
        const token = own.mint('anthropic')
        const res = await fetch(`${own.url('anthropic')}/v1/messages`, {
          method: 'POST',
          headers: { 'x-api-key': token },
          body: '{}',
        })
        expect(await res.json()).toEqual({ tls: true })
        expect(got).toEqual([{ url: '/v1/messages', key: keys.anthropic }])
        expect(through).toHaveLength(1)
        expect(through[0]).toMatchObject({ method: 'CONNECT', target: `127.0.0.1:${port}` })
        expect(JSON.stringify(through)).not.toContain(token)
        expect(JSON.stringify(through)).not.toContain(keys.anthropic)
      } finally {
        await own.close()
        secure.closeAllConnections()
        await new Promise((r) => secure.close(r))
      }
    })
  })
})

/** Sends `request` as written over a raw socket and returns all the answer (the server closes or ends it). */
async function raw(port: number, request: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1')
  try {
    socket.write(request)
    let reply = ''
    socket.on('data', (c) => {
      reply += c
    })
    await once(socket, 'data')
    return reply
  } finally {
    socket.destroy()
  }
}

/** Resolves once `done()` holds, checked on each turn of the event loop (for data that arrives in pieces). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setImmediate(r))
}
