import http2 from 'node:http2'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'
import { selfSignedCert } from '../support/h2-client.js'
import { rawConnection, within } from '../support/raw-connection.js'

gatewayModules()

describe('slow clients are cut (HEADERS_TIMEOUT_SECONDS, HTTP2_IDLE_SECONDS)', () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, { HEADERS_TIMEOUT_SECONDS: '1', HTTP2_IDLE_SECONDS: '1' })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('an HTTP/1.1 client that dribbles headers forever gets 408 with the error envelope', async () => {
    const c = rawConnection(gw.url)
    await c.connected
    c.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    // the slowloris: one more header line every 100 ms, never the blank line that ends the head
    let n = 0
    const dribble = setInterval(() => {
      if (c.socket.writable) c.socket.write(`X-Slow-${n++}: a\r\n`)
    }, 100)
    try {
      const got = await within(c.closed, 8000, 'slowloris connection')
      expect(got.status).toBe(408)
      expect(got.body).toMatchObject({ error: { code: 'request_timeout' } })
      expect(n).toBeGreaterThan(3)
    } finally {
      clearInterval(dribble)
      c.socket.destroy()
    }
  })

  it('a connection that sends nothing is answered 408 and closed', async () => {
    const c = rawConnection(gw.url)
    try {
      const got = await within(c.closed, 8000, 'silent connection')
      expect(got.status).toBe(408)
      expect(got.body).toMatchObject({ error: { code: 'request_timeout' } })
    } finally {
      c.socket.destroy()
    }
  })

  it('a connection that sends only part of the HTTP/2 preface is closed', async () => {
    const c = rawConnection(gw.url)
    await c.connected
    c.socket.write('PRI * HTTP/2.0\r\n')
    try {
      const got = await within(c.closed, 8000, 'partial preface')
      expect(got.text).toBe('')
    } finally {
      c.socket.destroy()
    }
  })

  it('an h2c session idle without streams gets GOAWAY and closes', async () => {
    const session = http2.connect(gw.url)
    session.on('error', () => {})
    try {
      const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)))
      const closed = new Promise<void>((resolve) => session.once('close', () => resolve()))
      // one request first: the session is in use, then idle
      const res = session.request({ ':path': '/health' })
      res.resume()
      await new Promise((resolve) => res.once('end', resolve))
      expect(await within(goaway, 8000, 'idle h2c session')).toBe(http2.constants.NGHTTP2_NO_ERROR)
      await within(closed, 8000, 'idle h2c session close')
    } finally {
      session.destroy()
    }
  })

  it('counts what it cut in agent_gateway_connections_refused_total', async () => {
    const text = await gw.ctx.metrics.text()
    const cut = /agent_gateway_connections_refused_total\{reason="headers_timeout"\} (\d+)/.exec(text)?.[1]
    expect(Number(cut)).toBeGreaterThanOrEqual(2)
  })

  it('a URL that does not decode or a path parameter over 100 characters is a 400 with the envelope', async () => {
    const bad = await fetch(`${gw.url}/v1/runs/%E0%A4%A`)
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({
      error: { code: 'invalid_request', details: { fastifyCode: 'FST_ERR_BAD_URL' } },
    })
    const long = await fetch(`${gw.url}/v1/runs/${'r'.repeat(200)}`)
    expect(long.status).toBe(400)
    expect(await long.json()).toMatchObject({
      error: { code: 'invalid_request', details: { fastifyCode: 'FST_ERR_MAX_PARAM_LENGTH' } },
    })
  })

  it("a malformed request head is a 400 with the envelope, not Fastify's body", async () => {
    const c = rawConnection(gw.url)
    await c.connected
    c.socket.write('GET /health HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n')
    try {
      const got = await within(c.closed, 8000, 'malformed head')
      expect(got.status).toBe(400)
      expect(got.body).toMatchObject({ error: { code: 'invalid_request' } })
    } finally {
      c.socket.destroy()
    }
  })
})

describe('MAX_CONNECTIONS', () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, { MAX_CONNECTIONS: '2' })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('a connection over MAX_CONNECTIONS gets 429 over_capacity; a slot freed serves again', async () => {
    const held = [rawConnection(gw.url), rawConnection(gw.url)]
    await Promise.all(held.map((h) => h.connected))
    // both held connections have begun a request head, so the server has counted them
    for (const h of held) h.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    const extra = rawConnection(gw.url)
    try {
      await extra.connected
      extra.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
      const got = await within(extra.closed, 8000, 'connection over MAX_CONNECTIONS')
      expect(got.status).toBe(429)
      expect(got.body).toMatchObject({ error: { code: 'over_capacity' } })
      const text = await gw.ctx.metrics.text()
      expect(text).toMatch(/agent_gateway_connections_refused_total\{reason="max_connections"\} 1\b/)
      // the held ones finish their request and are served
      const first = held[0]
      if (!first) throw new Error('no held connection')
      first.socket.write('Connection: close\r\n\r\n')
      const served = await within(first.closed, 8000, 'held connection')
      expect(served.status).toBe(200)
    } finally {
      for (const h of [...held, extra]) h.socket.destroy()
    }
  })
})

describe('TLS handshake timeout', () => {
  let gw: TestGateway
  beforeAll(async () => {
    const cert = selfSignedCert()
    gw = await startGateway(null, {
      HEADERS_TIMEOUT_SECONDS: '1',
      TLS_CERT_PATH: cert.certPath,
      TLS_KEY_PATH: cert.keyPath,
    })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('a client that never finishes the TLS handshake is closed', async () => {
    const c = rawConnection(gw.url)
    await c.connected
    // the first bytes of a ClientHello record, and nothing more
    c.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01]))
    try {
      const got = await within(c.closed, 8000, 'half a TLS handshake')
      expect(got.text).toBe('')
    } finally {
      c.socket.destroy()
    }
  })

  it('an HTTP/1.1 client over TLS that dribbles headers forever gets 408', async () => {
    const { hostname, port } = new URL(gw.url)
    const socket = tls.connect({
      host: hostname,
      port: Number(port),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    })
    socket.on('error', () => {})
    let text = ''
    socket.on('data', (c: Buffer) => {
      text += c.toString()
    })
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()))
    socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    let n = 0
    const dribble = setInterval(() => {
      if (socket.writable) socket.write(`X-Slow-${n++}: a\r\n`)
    }, 100)
    try {
      await within(closed, 8000, 'TLS slowloris')
      expect(text).toMatch(/^HTTP\/1\.1 408 /)
      expect(text).toContain('request_timeout')
    } finally {
      clearInterval(dribble)
      socket.destroy()
    }
  })
})
