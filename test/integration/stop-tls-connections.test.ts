import { readFileSync } from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { held } from '../mock-llm/index.js'
import { gatewayPerTest, startGateway } from '../support/gateway.js'
import { selfSignedCert } from '../support/h2-client.js'

/**
 * On the TLS port a graceful stop ends at once the connections that carry no request: one still in its handshake,
 * one whose client finished the handshake (HTTP/1.1 or h2 through ALPN) and sent nothing, one idle between
 * requests; a request in flight keeps its grace. The grace and the headers (handshake) timeout are two minutes,
 * beyond the test's own timeout, so a stop that waited for any of them would fail the test.
 */
const slowCut = { SHUTDOWN_GRACE_SECONDS: '120', HEADERS_TIMEOUT_SECONDS: '120', HTTP2_IDLE_SECONDS: '120' }

describe("a gateway's stop on a TLS port", () => {
  const fx = gatewayPerTest()
  let cert: { certPath: string; keyPath: string }
  let ca: Buffer
  beforeAll(async () => {
    cert = selfSignedCert()
    ca = readFileSync(cert.certPath)
  })

  const start = async () => {
    fx.gw = await startGateway(fx.mock, {
      ...slowCut,
      CODEX_API_USE_TLS: 'true',
      CODEX_API_TLS_CERT_PATH: cert.certPath,
      CODEX_API_TLS_KEY_PATH: cert.keyPath,
    })
    return Number(new URL(fx.gw.url).port)
  }
  const closedOf = (socket: net.Socket) => {
    socket.on('error', () => {})
    return new Promise<void>((resolve) => socket.once('close', () => resolve()))
  }
  const handshake = async (port: number, alpn: string) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca, ALPNProtocols: [alpn] })
    const closed = closedOf(socket)
    await new Promise<void>((resolve) => socket.once('secureConnect', resolve))
    expect(socket.alpnProtocol).toBe(alpn)
    // the h2 server's SETTINGS are read and dropped: only what the client sends counts
    socket.resume()
    return { socket, closed }
  }

  it('ends connections that carry no request, in and after the handshake, idle or silent, h2 or HTTP/1.1', async () => {
    const port = await start()
    // no ClientHello yet: the connection is in its handshake
    const raw = net.connect(port, '127.0.0.1')
    const rawClosed = closedOf(raw)
    await new Promise<void>((resolve) => raw.once('connect', resolve))
    const silentH1 = await handshake(port, 'http/1.1')
    const silentH2 = await handshake(port, 'h2')
    // HTTP/1.1 keep-alive, idle after one answer
    const idle = await handshake(port, 'http/1.1')
    idle.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n')
    await new Promise((resolve) => idle.socket.once('data', resolve))
    await fx.stop()
    await Promise.all([rawClosed, silentH1.closed, silentH2.closed, idle.closed])
    expect(raw.bytesRead).toBe(0)
  })

  it('a request in flight over TLS is answered while the silent connections around it are ended', async () => {
    const port = await start()
    const silent = await handshake(port, 'http/1.1')
    const answer = held({ kind: 'text', text: 'answered during the stop' })
    fx.mock.script(answer.step)
    const responded = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(`${fx.gw!.url}/v1/runs?wait=true`, {
        method: 'POST',
        agent: false,
        ca,
        headers: { 'content-type': 'application/json' },
      })
      req.on('error', reject)
      req.on('response', (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          body += d
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.end(JSON.stringify({ prompt: 'answer slowly' }))
    })
    await answer.asked
    const stopping = fx.stop()
    await silent.closed
    answer.release()
    const { status, body } = await responded
    expect(status).toBe(200)
    expect(JSON.parse(body) as Run).toMatchObject({
      status: 'succeeded',
      finalResponse: 'answered during the stop',
    })
    await stopping
  })
})
