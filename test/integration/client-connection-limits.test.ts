import http2 from 'node:http2'
import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'
import { selfSignedCert } from '../support/h2-client.js'
import { rawConnection, within } from '../support/raw-connection.js'

const started = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n'
const whole = `${started}Connection: close\r\n\r\n`

/** The server's side of each connection by the client's port, to wait until the server let one go. */
function serverSockets(gw: TestGateway) {
  const byPort = new Map<number, Socket>()
  gw.app.server.on('connection', (s: Socket) => {
    if (s.remotePort) byPort.set(s.remotePort, s)
  })
  return {
    /** Resolves once the server closed its side of the connection from the client's `port`. */
    closed(port: number): Promise<void> {
      const s = byPort.get(port)
      if (!s) throw new Error('no server socket for this client')
      return s.destroyed ? Promise.resolve() : new Promise((resolve) => s.once('close', () => resolve()))
    },
  }
}

async function refusedCount(gw: TestGateway, reason: string): Promise<number> {
  const text = await gw.ctx.metrics.text()
  const n = new RegExp(`agent_gateway_connections_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(
    text,
  )?.[1]
  return Number(n ?? 0)
}

gatewayModules()

describe('MAX_CONNECTIONS_PER_CLIENT (cleartext)', () => {
  let gw: TestGateway
  let server: ReturnType<typeof serverSockets>
  beforeAll(async () => {
    gw = await startGateway(null, {
      MAX_CONNECTIONS: '20',
      MAX_CONNECTIONS_PER_CLIENT: '2',
      // 127.0.0.1 and 127.0.0.3 are clients like any other here; 127.0.0.2 stands for a proxy in front
      MAX_CONNECTIONS_PER_CLIENT_EXEMPT: '127.0.0.2',
    })
    server = serverSockets(gw)
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('a client over its cap gets 429 over_capacity while another client is served; a slot freed serves it again', async () => {
    const held = [rawConnection(gw.url), rawConnection(gw.url)]
    const extra = rawConnection(gw.url)
    const other = rawConnection(gw.url, { localAddress: '127.0.0.3' })
    try {
      await Promise.all(held.map((h) => h.connected))
      for (const h of held) h.socket.write(started)
      await extra.connected
      extra.socket.write(whole)
      const got = await within(extra.closed, 8000, 'connection over MAX_CONNECTIONS_PER_CLIENT')
      expect(got.status).toBe(429)
      expect(got.text).toMatch(/\r\nRetry-After: 1\r\n/)
      expect(got.body).toMatchObject({
        error: {
          code: 'over_capacity',
          message: expect.stringContaining('MAX_CONNECTIONS_PER_CLIENT (2)'),
          details: { reason: 'max_connections_per_client' },
        },
      })
      expect(await refusedCount(gw, 'max_connections_per_client')).toBe(1)
      expect(await refusedCount(gw, 'max_connections')).toBe(0)

      // another address is another client
      await other.connected
      other.socket.write(whole)
      expect((await within(other.closed, 8000, 'other client')).status).toBe(200)

      // the held ones are served; once the server let one go, the client may open another
      const first = held[0]!
      const port = first.socket.localPort ?? -1
      first.socket.write('Connection: close\r\n\r\n')
      expect((await within(first.closed, 8000, 'held connection')).status).toBe(200)
      await within(server.closed(port), 8000, 'server side of the held connection')
      const again = rawConnection(gw.url)
      await again.connected
      again.socket.write(whole)
      expect((await within(again.closed, 8000, 'freed slot')).status).toBe(200)
    } finally {
      for (const c of [...held, extra, other]) c.socket.destroy()
    }
  })

  it('an exempt address (a proxy in front) is held to MAX_CONNECTIONS only', async () => {
    const held = [0, 1, 2, 3].map(() => rawConnection(gw.url, { localAddress: '127.0.0.2' }))
    try {
      await Promise.all(held.map((h) => h.connected))
      for (const h of held) h.socket.write(whole)
      const got = await Promise.all(held.map((h) => within(h.closed, 8000, 'exempt connection')))
      expect(got.map((g) => g.status)).toEqual([200, 200, 200, 200])
    } finally {
      for (const c of held) c.socket.destroy()
    }
  })

  it('an HTTP/2 connection advertises HTTP2_MAX_STREAMS (128) concurrent streams, not 1000', async () => {
    const session = http2.connect(gw.url)
    session.on('error', () => {})
    try {
      const settings = await within(
        new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve)),
        8000,
        'h2c settings',
      )
      expect(settings.maxConcurrentStreams).toBe(128)
    } finally {
      session.destroy()
    }
  })
})

describe('MAX_CONNECTIONS_PER_CLIENT (TLS)', () => {
  let gw: TestGateway
  beforeAll(async () => {
    const cert = selfSignedCert()
    gw = await startGateway(null, {
      TLS_CERT_PATH: cert.certPath,
      TLS_KEY_PATH: cert.keyPath,
      MAX_CONNECTIONS_PER_CLIENT: '1',
      MAX_CONNECTIONS_PER_CLIENT_EXEMPT: 'none',
    })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('a client over its cap is closed before the handshake; another client is served', async () => {
    const held = rawConnection(gw.url, { tls: true })
    const extra = rawConnection(gw.url, { tls: true })
    const other = rawConnection(gw.url, { tls: true, localAddress: '127.0.0.3' })
    try {
      await held.connected
      const got = await within(extra.closed, 8000, 'TLS connection over the cap')
      expect(got.text).toBe('')
      expect(await refusedCount(gw, 'max_connections_per_client')).toBe(1)
      await other.connected
      other.socket.write(whole)
      expect((await within(other.closed, 8000, 'other TLS client')).status).toBe(200)
    } finally {
      for (const c of [held, extra, other]) c.socket.destroy()
    }
  })
})
