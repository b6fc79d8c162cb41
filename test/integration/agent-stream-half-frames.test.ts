import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type http from 'node:http'
import { constants } from 'node:http2'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Turn } from '../../src/protocol/sessions.js'
import { held } from '../mock-llm/index.js'
import { AgentStreamClient, encode, type Frame, streamSession } from '../support/agent-stream-client.js'
import { agentWsClient } from '../support/agent-ws-client.js'
import { sharedH2Gateway, startGateway, type TestGateway } from '../support/gateway.js'
import { within } from '../support/raw-connection.js'

let counter = 0
const newSessionId = () => `half-frame-${process.pid}-${++counter}`

/** A client-to-server WebSocket frame (masked, as RFC 6455 requires of clients). */
function wsFrame(payload: Buffer, fin = true, opcode = 0x1): Buffer {
  const mask = randomBytes(4)
  const head =
    payload.length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length])
      : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff])
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))
  return Buffer.concat([head, mask, masked])
}

const stalledError = (limit: string) =>
  expect.objectContaining({
    type: 'error',
    code: 'FRAME_DECODING_ERROR',
    message: expect.stringMatching(new RegExp(`^Frame decoding error: .*${limit}`)),
    details: { limit },
  })

/**
 * A frame of /agent/stream or /agent/ws that starts and then stalls (or trickles) is cut after BODY_IDLE_SECONDS
 * (or below BODY_MIN_BYTES_PER_SECOND) with FRAME_DECODING_ERROR; a stream silent between frames stays open.
 */
describe('half-sent frames on /agent/stream and /agent/ws', () => {
  const shared = sharedH2Gateway({ BODY_IDLE_SECONDS: '1', BODY_MIN_BYTES_PER_SECOND: '1000' })

  const wsUrl = () => `${shared.gw.url.replace(/^http/, 'ws')}/agent/ws`
  const turnsOf = async (clientId: string): Promise<Turn[]> => {
    const found = await streamSession(shared.gw.url, clientId)
    return ((await (await fetch(`${shared.gw.url}/v1/sessions/${found.id}`)).json()) as { turns: Turn[] })
      .turns
  }

  it('h2c: half a frame, then silence: FRAME_DECODING_ERROR, the stream ends, its turn is interrupted; an idle stream stays', {
    timeout: 60_000,
  }, async () => {
    const stalledTurn = held({ kind: 'text', text: 'never sent' })
    shared.mock.script({ kind: 'text', text: 'idle one' }, stalledTurn.step, {
      kind: 'text',
      text: 'idle two',
    })
    const idle = new AgentStreamClient(shared.h2, 'ndjson')
    const idleId = newSessionId()
    await idle.send({ type: 'user_message', sessionId: idleId, content: 'first' })
    await idle.status_('Agent run completed.')

    const stalled = new AgentStreamClient(shared.h2, 'ndjson')
    const sessionId = newSessionId()
    await stalled.send({ type: 'user_message', sessionId, content: 'hold on' })
    await stalledTurn.asked
    await stalled.writeRaw(Buffer.from(`{"type":"cancel","sessionId":"${sessionId}`))
    await within(stalled.ended, 8000, 'stalled /agent/stream stream')
    expect(stalled.frames.at(-1)).toEqual(stalledError('BODY_IDLE_SECONDS'))
    // the turn of that stream ended with it, as with any stream that ends (nobody else follows the session)
    await expect
      .poll(async () => (await turnsOf(sessionId)).at(-1)?.status, { timeout: 30_000 })
      .toBe('interrupted')
    stalledTurn.release()

    // silent between frames for longer than BODY_IDLE_SECONDS: still open, and it still works
    const from = idle.frames.length
    await idle.send({ type: 'user_message', sessionId: idleId, content: 'second' })
    await idle.status_('Agent run completed.', from)
    expect(idle.texts()).toEqual(['idle one', 'idle two'])
    idle.end()
    await idle.ended
  })

  it('h2c, length-prefixed: a frame trickled a byte every 50 ms falls below BODY_MIN_BYTES_PER_SECOND', async () => {
    const c = new AgentStreamClient(shared.h2, 'length-prefixed')
    const body = encode('length-prefixed', { type: 'cancel', sessionId: 'x'.repeat(200) })
    let sent = 0
    const trickle = setInterval(() => {
      if (sent < body.length) void c.writeRaw(body.subarray(sent, ++sent)).catch(() => {})
    }, 50)
    try {
      await within(c.ended, 8000, 'trickled frame')
      expect(c.frames).toEqual([stalledError('BODY_MIN_BYTES_PER_SECOND')])
      // the server ended its response and then told the client, still sending, to stop without error
      expect(c.rstCode).toBe(constants.NGHTTP2_NO_ERROR)
      // it kept sending: only the rate cut it
      expect(sent).toBeGreaterThan(5)
    } finally {
      clearInterval(trickle)
    }
  })

  it('HTTP/1.1 chunked: half a frame, then silence: the error frame, the response ends, the connection closes', async () => {
    const { hostname, port } = new URL(shared.gw.url)
    const socket = net.connect(Number(port), hostname)
    socket.on('error', () => {})
    await once(socket, 'connect')
    let text = ''
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString()
    })
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    const half = '{"type":"cancel","sess'
    socket.write(
      'POST /agent/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n' +
        `Transfer-Encoding: chunked\r\n\r\n${half.length.toString(16)}\r\n${half}\r\n`,
    )
    try {
      await within(closed, 8000, 'stalled HTTP/1.1 /agent/stream').catch((err) => {
        throw new Error(`${err.message}; got ${JSON.stringify(text)}`)
      })
      expect(text).toMatch(/^HTTP\/1\.1 200/)
      // the chunked response's last chunk came before the close
      expect(text).toMatch(/\r\n0\r\n\r\n$/)
      const frames = text
        .split('\r\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Frame)
      expect(frames).toEqual([stalledError('BODY_IDLE_SECONDS')])
    } finally {
      socket.destroy()
    }
  })

  for (const [what, bytes] of [
    ['half a message', wsFrame(Buffer.from('{"type":"cancel","sessionId":"abc"}')).subarray(0, 12)],
    ['the first fragment of a message, and no more', wsFrame(Buffer.from('{"type":"cancel",'), false)],
  ] as const)
    it(`/agent/ws: ${what}, then silence: FRAME_DECODING_ERROR, close 1008; an idle socket stays`, async () => {
      const idle = agentWsClient(wsUrl())
      const stalled = agentWsClient(wsUrl())
      try {
        await Promise.all([idle.opened, stalled.opened])
        const closed = new Promise<number>((resolve) => stalled.ws.once('close', (code) => resolve(code)))
        ;(stalled.ws as unknown as { _socket: net.Socket })._socket.write(bytes)
        expect(await within(closed, 8000, `stalled /agent/ws (${what})`)).toBe(1008)
        expect(stalled.frames).toEqual([stalledError('BODY_IDLE_SECONDS')])
        // silent as long, but between messages: open, and answering
        expect(idle.ws.readyState).toBe(idle.ws.OPEN)
        idle.send({ type: 'cancel', sessionId: 'nobody' })
        expect(await idle.next((f) => f.type === 'error')).toMatchObject({ code: 'SESSION_NOT_INIT' })
      } finally {
        idle.ws.terminate()
        stalled.ws.terminate()
      }
    })

  it('/agent/ws: a message that stalls during a turn ends the turn with the socket', {
    timeout: 60_000,
  }, async () => {
    const turn = held({ kind: 'text', text: 'never sent' })
    shared.mock.script(turn.step)
    const c = agentWsClient(wsUrl())
    try {
      await c.opened
      const sessionId = newSessionId()
      const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)))
      c.send({ type: 'user_message', sessionId, content: 'hold on' })
      await turn.asked
      const half = wsFrame(Buffer.from(JSON.stringify({ type: 'cancel', sessionId }))).subarray(0, 10)
      ;(c.ws as unknown as { _socket: net.Socket })._socket.write(half)
      expect(await within(closed, 8000, 'stalled /agent/ws during a turn')).toBe(1008)
      expect(c.frames.at(-1)).toEqual(stalledError('BODY_IDLE_SECONDS'))
      await expect
        .poll(async () => (await turnsOf(sessionId)).at(-1)?.status, { timeout: 30_000 })
        .toBe('interrupted')
    } finally {
      turn.release()
      c.ws.terminate()
    }
  })

  it('/agent/ws: a message trickled a byte every 50 ms falls below BODY_MIN_BYTES_PER_SECOND', async () => {
    const c = agentWsClient(wsUrl())
    await c.opened
    const socket = (c.ws as unknown as { _socket: net.Socket })._socket
    const bytes = wsFrame(Buffer.from(JSON.stringify({ type: 'cancel', sessionId: 'y'.repeat(200) })))
    const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)))
    let sent = 0
    const trickle = setInterval(() => {
      if (sent < bytes.length && socket.writable) socket.write(bytes.subarray(sent, ++sent))
    }, 50)
    try {
      expect(await within(closed, 8000, 'trickled ws message')).toBe(1008)
      expect(c.frames).toEqual([stalledError('BODY_MIN_BYTES_PER_SECOND')])
      expect(sent).toBeGreaterThan(5)
    } finally {
      clearInterval(trickle)
      c.ws.terminate()
    }
  })
})

/** A raw HTTP/1.1 connection to the gateway: what came back so far, and when it closed. */
async function rawHttp1(url: string) {
  const { hostname, port } = new URL(url)
  const socket = net.connect(Number(port), hostname)
  socket.on('error', () => {})
  await once(socket, 'connect')
  let text = ''
  const waiters: (() => void)[] = []
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString()
    for (const w of waiters.splice(0)) w()
  })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const until = async (pattern: RegExp) => {
    while (!pattern.test(text)) {
      if (socket.closed) throw new Error(`closed without ${pattern}; got ${JSON.stringify(text)}`)
      await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), closed])
    }
  }
  return { socket, closed, until, text: () => text }
}

const chunk = (data: string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`

describe('an HTTP/1.1 /agent/stream is timed per frame, not by Node’s requestTimeout for the whole request', () => {
  let gw: TestGateway
  beforeAll(async () => {
    // Node checks its clocks every HEADERS_TIMEOUT_SECONDS / 4
    gw = await startGateway(null, { HEADERS_TIMEOUT_SECONDS: '1' })
    // 300 s in production; shortened here so that the test sees it pass
    ;(gw.app.server as http.Server).requestTimeout = 1000
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('a stream silent between frames outlives requestTimeout; a request with an unfinished body does not', async () => {
    const stream = await rawHttp1(gw.url)
    const control = await rawHttp1(gw.url)
    try {
      stream.socket.write(
        'POST /agent/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n' +
          `Transfer-Encoding: chunked\r\n\r\n${chunk('{"type":"cancel","sessionId":"a"}\n')}`,
      )
      await stream.until(/SESSION_NOT_INIT/)
      // opened later: an SSE request whose (unread) body never ends is cut by Node's requestTimeout
      control.socket.write(
        'GET /v1/approvals/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n' +
          `Transfer-Encoding: chunked\r\n\r\n${chunk('x')}`,
      )
      await within(control.closed, 8000, 'the control request')
      expect(control.text()).toMatch(/HTTP\/1\.1 408/)
      // silent at least as long, and older: open and answering
      expect(stream.socket.closed).toBe(false)
      // (a status line, not any "408": ids in the answer are random and may hold one)
      expect(stream.text()).not.toMatch(/HTTP\/1\.1 408/)
      stream.socket.write(chunk('{"type":"cancel","sessionId":"b"}\n'))
      await stream.until(/SESSION_NOT_INIT[\s\S]*SESSION_NOT_INIT/)
      stream.socket.write('0\r\n\r\n')
      await stream.until(/"type":"terminate"/)
    } finally {
      stream.socket.destroy()
      control.socket.destroy()
    }
  })
})
