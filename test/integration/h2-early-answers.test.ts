import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { drainAfterAnswer } from '../../src/http/h2-answered-body.js'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'
import { selfSignedCert } from '../support/h2-client.js'
import { frameWord, type H2FrameSeen, startH2FrameLog } from '../support/h2-frame-log.js'

/**
 * An HTTP/2 request answered before its body arrived whole (401 from the token check, 404, 413 by its
 * content-length: nobody read the body) was reset by Node as soon as its answer ended. RFC 9113 allows that
 * (RST_STREAM NO_ERROR after END_STREAM), but curl 7.88 (Debian 12's) reads its answer only after sending its body,
 * and took the reset for a failed upload: exit 92, no answer. The gateway now reads and drops the rest of such a
 * body (up to 4 x BODY_LIMIT_BYTES, while it keeps coming), and stops a client only past that.
 */
const token = 'early-answers-token'
const bodyLimit = 100_000
// within 4 x BODY_LIMIT_BYTES: read to its end
const body = JSON.stringify({ prompt: 'a'.repeat(200_000) })
const exec = promisify(execFile)

/** curl's exit code, its output (body, then the status on the last line) and its error text. */
async function curl(args: string[]) {
  const out = await exec('curl', ['-sS', '-w', '\n%{http_code}', '--max-time', '30', ...args]).then(
    (o) => ({ code: 0, stdout: o.stdout, stderr: o.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  )
  const lines = out.stdout.split('\n')
  return { exit: out.code, status: lines.at(-1), body: lines.slice(0, -1).join('\n'), stderr: out.stderr }
}

/**
 * The stream's answer ended with END_STREAM and the server did not tell the client to stop (RST_STREAM NO_ERROR).
 * (curl may end its upload short once it has its answer; nghttp2 then resets the stream with PROTOCOL_ERROR for a
 * body shorter than its content-length: after the answer, and curl's own doing.)
 */
function expectEndedNotReset(frames: H2FrameSeen[]) {
  const words = frames.map(frameWord).join(' ')
  expect(
    frames.filter((f) => f.type === 'RST_STREAM' && f.code === http2.constants.NGHTTP2_NO_ERROR),
    words,
  ).toEqual([])
  expect(frames.filter((f) => f.type === 'DATA' || f.type === 'HEADERS').at(-1), words).toMatchObject({
    type: 'DATA',
    endStream: true,
  })
}

/** The answer's END_STREAM, then RST_STREAM NO_ERROR: the client is told to stop sending, its answer kept. */
function expectEndedThenStopped(frames: H2FrameSeen[]) {
  const words = frames.map(frameWord).join(' ')
  const answer = frames.filter((f) => f.type === 'DATA' || f.type === 'HEADERS' || f.type === 'RST_STREAM')
  expect(answer.slice(-2), words).toEqual([
    expect.objectContaining({ type: 'DATA', endStream: true }),
    expect.objectContaining({ type: 'RST_STREAM', code: http2.constants.NGHTTP2_NO_ERROR }),
  ])
}

/**
 * A POST whose body the client writes as fast as the stream takes it, `chunk` after `chunk`, until the stream closes
 * or `stopAt` bytes went: the status, how many bytes went, and whether the server closed it.
 */
async function endlessBody(url: string, chunk: Buffer, stopAt: number, headers = {}) {
  const session = http2.connect(url)
  session.on('error', () => {})
  const stream = session.request(
    {
      ':method': 'POST',
      ':path': '/v1/runs',
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...headers,
    },
    // a HEAD's too (Node's client ends a HEAD's side with its headers unless told)
    { endStream: false },
  )
  stream.on('error', () => {})
  stream.resume()
  let status = 0
  stream.once('response', (h) => {
    status = Number(h[':status'])
  })
  let closed = false
  const close = new Promise<void>((resolve) =>
    stream.once('close', () => {
      closed = true
      resolve()
    }),
  )
  let sent = 0
  while (!closed && sent < stopAt) {
    const wrote = new Promise<void>((resolve) => stream.write(chunk, () => resolve()))
    await Promise.race([wrote, close])
    if (!closed) sent += chunk.length
  }
  const closedByServer = closed
  stream.close()
  await close
  session.destroy()
  return { status, sent, closedByServer, id: stream.id! }
}

describe('HTTP/2 answers that come before the request body ended', () => {
  let gw: TestGateway
  let bodyFile: string
  gatewayModules()
  beforeAll(async () => {
    gw = await startGateway(null, { API_TOKENS: token, BODY_LIMIT_BYTES: String(bodyLimit) })
    bodyFile = path.join(gw.dir, 'body.json')
    writeFileSync(bodyFile, body)
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('curl --http2-prior-knowledge gets the 401, 404 and 413 of a POST it is still sending, each time', async () => {
    const wire = await startH2FrameLog(gw.url)
    try {
      const auth = ['-H', `authorization: Bearer ${token}`]
      const cases = [
        { args: [], url: '/v1/runs', status: '401', code: 'unauthorized' },
        { args: auth, url: '/nowhere', status: '413', code: 'body_too_large' },
        { args: auth, url: '/v1/runs', status: '413', code: 'body_too_large' },
      ]
      // the reset raced curl's upload: it lost most rounds, not all
      for (let round = 0; round < 3; round++)
        for (const c of cases) {
          const before = wire.connections()
          const got = await curl([
            '--http2-prior-knowledge',
            '-H',
            'content-type: application/json',
            ...c.args,
            '--data-binary',
            `@${bodyFile}`,
            `${wire.url}${c.url}`,
          ])
          expect([got.exit, got.status, got.stderr]).toEqual([0, c.status, ''])
          expect(JSON.parse(got.body)).toMatchObject({ error: { code: c.code } })
          expectEndedNotReset(wire.of(1, before))
        }
    } finally {
      await wire.close()
    }
  })

  it("Node's client: the answer, then the body's end closes the stream; no reset", async () => {
    const wire = await startH2FrameLog(gw.url)
    const session = http2.connect(wire.url)
    session.on('error', () => {})
    try {
      for (const headers of [{}, { authorization: `Bearer ${token}` }]) {
        const stream = session.request({
          ':method': 'POST',
          ':path': '/v1/runs',
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          ...headers,
        })
        stream.setEncoding('utf8')
        let status = 0
        let text = ''
        stream.once('response', (h) => {
          status = Number(h[':status'])
        })
        stream.on('data', (d: string) => {
          text += d
        })
        const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
        stream.end(body)
        await closed
        expect([status, stream.rstCode]).toEqual([
          'authorization' in headers ? 413 : 401,
          http2.constants.NGHTTP2_NO_ERROR,
        ])
        expect(JSON.parse(text)).toHaveProperty('error.code')
        expectEndedNotReset(wire.of(stream.id!))
      }
    } finally {
      session.destroy()
      await wire.close()
    }
  })

  it('a body declared longer than 4 x BODY_LIMIT_BYTES is stopped at once after its 413', async () => {
    const wire = await startH2FrameLog(gw.url)
    try {
      const got = await endlessBody(wire.url, Buffer.alloc(16_384, 'a'), 20 * bodyLimit, {
        'content-length': String(10 * bodyLimit),
      })
      expect(got.status).toBe(413)
      expect(got.closedByServer).toBe(true)
      expectEndedThenStopped(wire.of(got.id))
      // nothing was read: what went is what the stream's window took
      expect(got.sent).toBeLessThanOrEqual(bodyLimit)
    } finally {
      await wire.close()
    }
  })

  it('a body of no declared length that goes on past its 413 is read up to 4 x BODY_LIMIT_BYTES more, then stopped', async () => {
    const wire = await startH2FrameLog(gw.url)
    try {
      // fast enough for the body clock: only the byte bound stops it (it went on without end)
      const got = await endlessBody(wire.url, Buffer.alloc(16_384, 'a'), 40 * bodyLimit)
      expect(got.status).toBe(413)
      expect(got.closedByServer).toBe(true)
      expectEndedThenStopped(wire.of(got.id))
      // the limit read before the 413, 4 x the limit after it, and what the stream's window holds (64 KiB) and
      // the client's own buffers hold (a few chunks)
      expect(got.sent).toBeGreaterThan(4 * bodyLimit)
      expect(got.sent).toBeLessThan(6 * bodyLimit + 256 * 1024)
    } finally {
      await wire.close()
    }
  })
})

/** The answer went as HEADERS with END_STREAM (no body), and the server did not reset the stream. */
function expectHeadersOnlyNotReset(frames: H2FrameSeen[]) {
  const words = frames.map(frameWord).join(' ')
  expect(
    frames.filter((f) => f.type === 'RST_STREAM'),
    words,
  ).toEqual([])
  expect(
    frames.filter((f) => f.type === 'DATA' || f.type === 'HEADERS'),
    words,
  ).toEqual([expect.objectContaining({ type: 'HEADERS', endStream: true })])
}

/**
 * Sends `body` on a request of `method` to `path` (Node's client), the whole of it, and waits for the stream to
 * close, at most `boundMs`: the status, whether it closed, its RST_STREAM code and id.
 */
async function sendWhole(
  url: string,
  method: string,
  path: string,
  body: Buffer,
  headers = {},
  boundMs = 20_000,
) {
  const session = http2.connect(url)
  session.on('error', () => {})
  const stream = session.request({ ':method': method, ':path': path, ...headers }, { endStream: false })
  stream.on('error', () => {})
  stream.resume()
  let status = 0
  stream.once('response', (h) => {
    status = Number(h[':status'])
  })
  const closed = new Promise<boolean>((resolve) => stream.once('close', () => resolve(true)))
  stream.end(body)
  let bound: NodeJS.Timeout | undefined
  const ended = await Promise.race([
    closed,
    new Promise<boolean>((r) => (bound = setTimeout(() => r(false), boundMs))),
  ])
  clearTimeout(bound)
  const rstCode = stream.rstCode
  session.destroy()
  return { status, ended, rstCode, id: stream.id! }
}

/**
 * An answer without a body (to HEAD; a 204, a 304) goes as HEADERS with END_STREAM, and nghttp2 asks for no
 * trailers, which the drain of an early answer waited for. A HEAD stream whose client still sent was never read nor
 * stopped: Node ends a HEAD stream's writable side when it comes, so its own reset never came either, and the
 * client hung with its window full (curl too). Now its body is read and dropped as any early answer's.
 */
describe('HTTP/2 answers without a body to a request still sending one', () => {
  let gw: TestGateway
  gatewayModules()
  beforeAll(async () => {
    gw = await startGateway(null, { API_TOKENS: token, BODY_LIMIT_BYTES: String(bodyLimit) })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('HEAD of a GET route, a HEAD refused 401 or 405: the answer, then the body read to its end; no reset', async () => {
    const wire = await startH2FrameLog(gw.url)
    try {
      const auth = { authorization: `Bearer ${token}` }
      const cases = [
        { path: '/health', headers: auth, status: 200 },
        { path: '/v1/runs', headers: auth, status: 200 },
        { path: '/v1/runs', headers: {}, status: 401 },
        // a POST-only route: the 405 (with its Allow header) is an answer without a body to HEAD too
        { path: '/nowhere', headers: auth, status: 404 },
        { path: '/v1/runs/x/cancel', headers: auth, status: 405 },
        { path: '/chat', headers: auth, status: 405 },
      ]
      for (const c of cases) {
        const before = wire.connections()
        // more than a stream's window (64 KiB): it goes whole only when read
        const got = await sendWhole(wire.url, 'HEAD', c.path, Buffer.alloc(2 * bodyLimit, 'a'), c.headers)
        expect([got.status, got.ended, got.rstCode]).toEqual([
          c.status,
          true,
          http2.constants.NGHTTP2_NO_ERROR,
        ])
        expectHeadersOnlyNotReset(wire.of(got.id, before))
      }
    } finally {
      await wire.close()
    }
  })

  it('a HEAD body that goes on is read up to 4 x BODY_LIMIT_BYTES, then stopped after the answer', async () => {
    const wire = await startH2FrameLog(gw.url)
    try {
      const got = await endlessBody(wire.url, Buffer.alloc(16_384, 'a'), 40 * bodyLimit, {
        ':method': 'HEAD',
        ':path': '/health',
      })
      expect(got.status).toBe(200)
      expect(got.closedByServer).toBe(true)
      const answer = wire.of(got.id).filter((f) => f.type === 'HEADERS' || f.type === 'RST_STREAM')
      expect(answer).toEqual([
        expect.objectContaining({ type: 'HEADERS', endStream: true }),
        expect.objectContaining({ type: 'RST_STREAM', code: http2.constants.NGHTTP2_NO_ERROR }),
      ])
      expect(got.sent).toBeGreaterThan(4 * bodyLimit)
      expect(got.sent).toBeLessThan(5 * bodyLimit + 256 * 1024)
    } finally {
      await wire.close()
    }
  })
})

/**
 * The same rule on a bare HTTP/2 server with the gateway's drain, registered after the handler as the listener does
 * (no gateway route answers 204; a 304 comes from the console's files when built): such a stream was left open, its
 * client hung with its window full.
 */
describe('204 and 304 answers to a request still sending its body (drainAfterAnswer)', () => {
  let server: http2.Http2Server
  let url: string
  beforeAll(async () => {
    server = http2.createServer((request, response) => {
      response.writeHead(Number(request.headers['x-answer'])).end()
    })
    const limits = { idleMs: 10_000, minBytesPerSecond: 0, maxBytes: 4 * bodyLimit }
    server.on('request', (request: http2.Http2ServerRequest) => drainAfterAnswer(request, limits))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve))
  })

  it.each([204, 304])('%i: the answer, then the body read to its end; no reset', async (status) => {
    const wire = await startH2FrameLog(url)
    try {
      const got = await sendWhole(wire.url, 'POST', '/', Buffer.alloc(2 * bodyLimit, 'a'), {
        'x-answer': String(status),
      })
      expect([got.status, got.ended, got.rstCode]).toEqual([status, true, http2.constants.NGHTTP2_NO_ERROR])
      expectHeadersOnlyNotReset(wire.of(got.id))
    } finally {
      await wire.close()
    }
  })
})

describe('the same over TLS (ALPN h2)', () => {
  let gw: TestGateway
  let bodyFile: string
  gatewayModules()
  beforeAll(async () => {
    const cert = selfSignedCert()
    gw = await startGateway(null, {
      API_TOKENS: token,
      BODY_LIMIT_BYTES: String(bodyLimit),
      TLS_CERT_PATH: cert.certPath,
      TLS_KEY_PATH: cert.keyPath,
    })
    bodyFile = path.join(gw.dir, 'body.json')
    writeFileSync(bodyFile, body)
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('curl --http2 gets the 401 of a POST it is still sending', async () => {
    for (let round = 0; round < 3; round++) {
      const got = await curl([
        '--http2',
        '-k',
        '-H',
        'content-type: application/json',
        '--data-binary',
        `@${bodyFile}`,
        `${gw.url}/v1/runs`,
      ])
      expect([got.exit, got.status, got.stderr]).toEqual([0, '401', ''])
      expect(JSON.parse(got.body)).toMatchObject({ error: { code: 'unauthorized' } })
    }
  })
})
