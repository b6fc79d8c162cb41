import http from 'node:http'
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import type { Session } from '../../src/protocol/sessions.js'
import { AgentStreamClient, encode, type Frame } from '../support/agent-stream-client.js'
import { agentWsClient } from '../support/agent-ws-client.js'
import { gatewayPerTest, postJson, startGateway } from '../support/gateway.js'
import { h2connect } from '../support/h2-client.js'
import { readSse } from '../support/sse-client.js'

/**
 * A graceful stop does not wait for clients that would never leave on their own: a session's live followers
 * (SSE, seed 004's /agent/stream over HTTP/2, HTTP/1.1 and WebSocket) get what was stored and then an end, and
 * a connection that never sent a byte is closed. The grace and the headers timeout are a minute here, so a stop
 * that waited for either would outlast the test.
 */
const slowCut = { SHUTDOWN_GRACE_SECONDS: '60', HEADERS_TIMEOUT_SECONDS: '60' }
const completed = (f: Frame) => f.type === 'status' && f.message === 'Agent run completed.'
const stopping = (f: Frame) => f.type === 'error' && f.code === 'FATAL_STREAM_ERROR'

describe("a gateway's stop ends what would hold it open", () => {
  const fx = gatewayPerTest()

  it("a session's SSE follower gets the stored events, then its stream ends cleanly", async () => {
    fx.gw = await startGateway(fx.mock, slowCut)
    const session = (await (await postJson(`${fx.gw.url}/v1/sessions`, {})).json()) as Session
    const res = await fetch(`${fx.gw.url}/v1/sessions/${session.id}/events`, {
      headers: { accept: 'text/event-stream' },
    })
    expect(res.status).toBe(200)
    const reading = readSse(res)
    await fx.stop()
    // readSse resolves at the body's end and throws if the connection is cut instead
    const frames = await reading
    expect(frames.length).toBeGreaterThan(0)
    expect(frames.map((f) => Number(f.id))).toEqual(frames.map((_, i) => i + 1))
  })

  it('a connection that never sent a byte is closed', async () => {
    fx.gw = await startGateway(fx.mock, slowCut)
    const { port } = new URL(fx.gw.url)
    const socket = net.connect(Number(port), '127.0.0.1')
    await new Promise<void>((resolve) => socket.once('connect', resolve))
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    await fx.stop()
    await closed
    expect(socket.bytesRead).toBe(0)
  })

  it('/agent/stream over HTTP/2: the turn completes, then FATAL_STREAM_ERROR (retryable) and the stream ends', async () => {
    fx.gw = await startGateway(fx.mock, slowCut)
    fx.mock.script({ kind: 'text', text: 'before the stop' })
    const h2 = h2connect(fx.gw.url)
    try {
      const client = new AgentStreamClient(h2, 'ndjson')
      await client.send({ type: 'user_message', sessionId: 'stop-h2', content: 'say something' })
      await client.next(completed)
      await fx.stop()
      await client.ended
      const last = client.frames.at(-1)!
      expect(stopping(last)).toBe(true)
      expect(last.retryable).toBe(true)
    } finally {
      h2.destroy()
    }
  })

  it('/agent/stream over HTTP/1.1 with a chunked body: the same frame, then the connection closes', async () => {
    fx.gw = await startGateway(fx.mock, slowCut)
    fx.mock.script({ kind: 'text', text: 'before the stop' })
    const req = http.request(`${fx.gw.url}/agent/stream`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' },
    })
    req.on('error', () => {})
    const responded = new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve))
    const socketClosed = new Promise<void>((resolve) =>
      req.on('socket', (s) => s.once('close', () => resolve())),
    )
    req.write(encode('ndjson', { type: 'user_message', sessionId: 'stop-h1', content: 'say something' }))
    const res = await responded
    const frames: Frame[] = []
    let text = ''
    let wake = () => {}
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      text += chunk
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
        frames.push(JSON.parse(text.slice(0, nl)) as Frame)
        text = text.slice(nl + 1)
      }
      wake()
    })
    const ended = new Promise<void>((resolve) => res.on('end', resolve))
    while (!frames.some(completed)) await new Promise<void>((r) => (wake = r))
    await fx.stop()
    await ended
    await socketClosed
    expect(stopping(frames.at(-1)!)).toBe(true)
  })

  it('/agent/ws: the same frame, then the socket closes', async () => {
    fx.gw = await startGateway(fx.mock, slowCut)
    fx.mock.script({ kind: 'text', text: 'before the stop' })
    const client = agentWsClient(`${fx.gw.url.replace(/^http/, 'ws')}/agent/ws`)
    await client.opened
    const closed = new Promise<void>((resolve) => client.ws.once('close', () => resolve()))
    client.send({ type: 'user_message', sessionId: 'stop-ws', content: 'say something' })
    await client.next(completed)
    await fx.stop()
    await closed
    expect(stopping(client.frames.at(-1)!)).toBe(true)
  })
  it('streams that follow no session yet (HTTP/2 and WebSocket) get the same frame and end', async () => {
    fx.gw = await startGateway(fx.mock, slowCut)
    const h2 = h2connect(fx.gw.url)
    try {
      const stream = new AgentStreamClient(h2, 'ndjson')
      await stream.send({ type: 'cancel', sessionId: 'none-yet' })
      const ws = agentWsClient(`${fx.gw.url.replace(/^http/, 'ws')}/agent/ws`)
      await ws.opened
      const wsClosed = new Promise<void>((resolve) => ws.ws.once('close', () => resolve()))
      // the cancel's error (no session yet) proves the stream is being read before the stop
      await stream.next((f) => f.type === 'error')
      await fx.stop()
      await stream.ended
      await wsClosed
      expect(stopping(stream.frames.at(-1)!)).toBe(true)
      expect(stopping(ws.frames.at(-1)!)).toBe(true)
    } finally {
      h2.destroy()
    }
  })
})
