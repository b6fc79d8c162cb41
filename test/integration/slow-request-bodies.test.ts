import http2 from 'node:http2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'
import { selfSignedCert } from '../support/h2-client.js'
import { type H2FrameSeen, startH2FrameLog } from '../support/h2-frame-log.js'
import { rawConnection, within } from '../support/raw-connection.js'

/** A JSON body of exactly `n` bytes that parses but is no valid run (400 once it arrived whole). */
const jsonOf = (n: number) => {
  const shell = '{"x":""}'
  return `{"x":"${'a'.repeat(n - shell.length)}"}`
}

const head = (path: string, length: number) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`

/** Sends `path` a head for a 1000-byte body and half of it, then nothing; resolves with what came back. */
async function halfBody(gw: TestGateway, path: string, opts: { tls?: boolean } = {}) {
  const c = rawConnection(gw.url, opts)
  await c.connected
  c.socket.write(head(path, 1000) + jsonOf(1000).slice(0, 500))
  try {
    return await within(c.closed, 8000, `half a body on ${path}`)
  } finally {
    c.socket.destroy()
  }
}

/** Opens a POST stream on an HTTP/2 session and sends half of a 1000-byte body; the stream stays open. */
function h2HalfBody(session: http2.ClientHttp2Session, path: string) {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/json',
    'content-length': '1000',
  })
  stream.on('error', () => {})
  stream.write(jsonOf(1000).slice(0, 500))
  let body = ''
  stream.on('data', (c: Buffer) => {
    body += c.toString()
  })
  const response = new Promise<number>((resolve) =>
    stream.once('response', (h) => resolve(Number(h[':status']))),
  )
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
  return { stream, response, closed, body: () => body }
}

/** GET /health on an open HTTP/2 session. */
async function h2Health(session: http2.ClientHttp2Session): Promise<number> {
  const req = session.request({ ':path': '/health' })
  const status = await new Promise<number>((resolve) =>
    req.once('response', (h) => resolve(Number(h[':status']))),
  )
  req.resume()
  await new Promise((resolve) => req.once('end', resolve))
  return status
}

/** The frames up to the stream's first RST_STREAM: the whole answer, its last DATA with END_STREAM, came first. */
function expectEndedBeforeReset(frames: H2FrameSeen[]) {
  const reset = frames.findIndex((f) => f.type === 'RST_STREAM')
  expect(reset).toBeGreaterThan(0)
  expect(frames[reset]!.code).toBe(http2.constants.NGHTTP2_NO_ERROR)
  expect(
    frames
      .slice(0, reset)
      .filter((f) => f.type === 'DATA' || f.type === 'HEADERS')
      .at(-1),
  ).toMatchObject({
    type: 'DATA',
    endStream: true,
  })
}

async function refusedCount(gw: TestGateway, reason: string): Promise<number> {
  const text = await gw.ctx.metrics.text()
  return Number(
    new RegExp(`agent_gateway_connections_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0,
  )
}

gatewayModules()

describe('a request body that stalls is cut (BODY_IDLE_SECONDS, BODY_MIN_BYTES_PER_SECOND)', () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, { BODY_IDLE_SECONDS: '1', BODY_MIN_BYTES_PER_SECOND: '1000' })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('HTTP/1.1: half a body, then silence, gets 408 with the envelope and the connection closed', async () => {
    const got = await halfBody(gw, '/v1/runs')
    expect(got.status).toBe(408)
    expect(got.text).toMatch(/\r\nconnection: close\r\n/i)
    expect(got.body).toMatchObject({
      error: { code: 'request_timeout', details: { limit: 'BODY_IDLE_SECONDS' } },
    })
  })

  it('HTTP/1.1: a body trickled a byte every 100 ms falls below the rate and gets 408 (seed route, its shape)', async () => {
    const c = rawConnection(gw.url)
    await c.connected
    c.socket.write(head('/run', 1000))
    let sent = 0
    const trickle = setInterval(() => {
      if (c.socket.writable) c.socket.write(jsonOf(1000).slice(sent, ++sent))
    }, 100)
    // the client stops sending once it has its answer
    void c.answered.then(() => clearInterval(trickle))
    try {
      const got = await within(c.closed, 8000, 'trickled body')
      expect(got.status).toBe(408)
      expect(got.body).toEqual({ detail: expect.stringContaining('BODY_MIN_BYTES_PER_SECOND') })
      // it kept sending: only the rate cut it, not the idle time
      expect(sent).toBeGreaterThan(5)
    } finally {
      clearInterval(trickle)
      c.socket.destroy()
    }
  })

  it('a body with a pause shorter than BODY_IDLE_SECONDS is read whole', async () => {
    const c = rawConnection(gw.url)
    await c.connected
    const body = jsonOf(1000)
    c.socket.write(head('/v1/runs', 1000) + body.slice(0, 500))
    const rest = setTimeout(() => c.socket.write(`${body.slice(500)}`), 300)
    try {
      c.socket.end()
      const got = await within(c.closed, 8000, 'paused body')
      // parsed and refused by validation: the body arrived whole
      expect(got.status).toBe(400)
      expect(got.body).toMatchObject({ error: { code: 'invalid_request' } })
    } finally {
      clearTimeout(rest)
      c.socket.destroy()
    }
  })

  it('HTTP/2 (h2c): a stalled stream gets 408 and is closed; the session and its /agent/stream stream go on', async () => {
    // through a proxy that logs the frames: the 408 ends with END_STREAM, then RST_STREAM NO_ERROR stops the client
    const wire = await startH2FrameLog(gw.url)
    const session = http2.connect(wire.url)
    session.on('error', () => {})
    try {
      // a long-lived /agent/stream stream that sends nothing: its body is the stream, it has no body clock
      const agentStream = session.request({
        ':method': 'POST',
        ':path': '/agent/stream',
        'content-type': 'application/x-ndjson',
      })
      agentStream.on('error', () => {})
      const stalled = h2HalfBody(session, '/v1/runs')
      expect(await within(stalled.response, 8000, 'stalled h2 stream')).toBe(408)
      await within(stalled.closed, 8000, 'stalled h2 stream close')
      expect(JSON.parse(stalled.body())).toMatchObject({
        error: { code: 'request_timeout', details: { limit: 'BODY_IDLE_SECONDS' } },
      })
      expect(stalled.stream.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR)
      // opened before the stalled one, silent as long: still open
      expect(agentStream.closed).toBe(false)
      expect(await h2Health(session)).toBe(200)
      agentStream.close()
      expectEndedBeforeReset(wire.of(stalled.stream.id!))
    } finally {
      session.destroy()
      await wire.close()
    }
  })

  it('HTTP/2: a stream still open after its 413 (past BODY_LIMIT_BYTES) is closed once it idles', async () => {
    const wire = await startH2FrameLog(gw.url)
    const session = http2.connect(wire.url)
    session.on('error', () => {})
    try {
      const before = await refusedCount(gw, 'body_timeout')
      // no content-length: the limit is found while reading
      const stream = session.request({
        ':method': 'POST',
        ':path': '/v1/runs',
        'content-type': 'application/json',
      })
      stream.on('error', () => {})
      stream.resume()
      const response = new Promise<number>((resolve) =>
        stream.once('response', (h) => resolve(Number(h[':status']))),
      )
      const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
      stream.write(Buffer.alloc(1_100_000, 'a'))
      expect(await within(response, 8000, 'oversized h2 body')).toBe(413)
      await within(closed, 8000, 'h2 stream after its 413')
      // not a stalled body: it was answered
      expect(await refusedCount(gw, 'body_timeout')).toBe(before)
      expectEndedBeforeReset(wire.of(stream.id!))
      expect(await h2Health(session)).toBe(200)
    } finally {
      session.destroy()
      await wire.close()
    }
  })

  it('counts the stalled bodies in agent_gateway_connections_refused_total{reason="body_timeout"}', async () => {
    expect(await refusedCount(gw, 'body_timeout')).toBeGreaterThanOrEqual(3)
  })
})

describe('a stalled body over TLS', () => {
  let gw: TestGateway
  beforeAll(async () => {
    const cert = selfSignedCert()
    gw = await startGateway(null, {
      BODY_IDLE_SECONDS: '1',
      TLS_CERT_PATH: cert.certPath,
      TLS_KEY_PATH: cert.keyPath,
    })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('HTTP/1.1 over TLS: 408 with the envelope, connection closed', async () => {
    const got = await halfBody(gw, '/v1/runs', { tls: true })
    expect(got.status).toBe(408)
    expect(got.body).toMatchObject({ error: { code: 'request_timeout' } })
  })

  it('HTTP/2 over TLS: the stalled stream gets 408, the session serves on', async () => {
    const session = http2.connect(gw.url, { rejectUnauthorized: false })
    session.on('error', () => {})
    try {
      const stalled = h2HalfBody(session, '/v1/runs')
      expect(await within(stalled.response, 8000, 'stalled h2 stream')).toBe(408)
      await within(stalled.closed, 8000, 'stalled h2 stream close')
      expect(await h2Health(session)).toBe(200)
    } finally {
      session.destroy()
    }
  })
})

describe('BODY_LIMIT_BYTES applies before a body is buffered', () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, { BODY_LIMIT_BYTES: '2048' })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it.each([
    ['/v1/runs', { error: { code: 'body_too_large' } }],
    ['/v1/sessions', { error: { code: 'body_too_large' } }],
    ['/run', { detail: expect.stringContaining('BODY_LIMIT_BYTES') }],
    ['/api/codex/stream', { detail: expect.stringContaining('BODY_LIMIT_BYTES') }],
    ['/chat', { error: 'request too large' }],
    ['/api/turn/start', { detail: expect.stringContaining('BODY_LIMIT_BYTES') }],
  ])(
    '%s: a Content-Length over the limit is answered 413 before any body byte is sent',
    async (path, body) => {
      const c = rawConnection(gw.url)
      await c.connected
      c.socket.write(head(path, 1_000_000))
      try {
        const got = await within(c.closed, 8000, `oversized ${path}`)
        expect(got.status).toBe(413)
        expect(got.body).toMatchObject(body)
      } finally {
        c.socket.destroy()
      }
    },
  )

  it('a chunked body is answered 413 once it passes the limit, not when it ends', async () => {
    const c = rawConnection(gw.url)
    await c.connected
    c.socket.write(
      'POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    )
    const chunk = 'a'.repeat(1024)
    // one chunk each time the previous one was taken, until the answer comes; never the last chunk
    let sent = 0
    const more = () => {
      if (!c.socket.writable) return
      sent++
      c.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`, () => setImmediate(more))
    }
    void c.answered.then(() => c.socket.end())
    more()
    try {
      const got = await within(c.closed, 8000, 'chunked oversized body')
      expect(got.status).toBe(413)
      expect(sent).toBeLessThan(100)
    } finally {
      c.socket.destroy()
    }
  })

  it('/agent/ws: a message over the limit closes the socket with 1009', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/agent/ws`, ['agent-stream'])
    ws.on('error', () => {})
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve())
        ws.once('error', reject)
      })
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
      ws.send('x'.repeat(4096))
      expect(await within(closed, 8000, 'oversized WebSocket message')).toBe(1009)
    } finally {
      ws.terminate()
    }
  })
})
