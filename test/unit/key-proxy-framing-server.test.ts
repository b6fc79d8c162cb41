import { once } from 'node:events'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProxyServer } from '../../src/process/key-proxy/proxy-server.js'
import { requestStream } from '../support/framing-streams.js'
import { Random } from '../support/fuzz/random.js'
import { llhttpFrame } from '../support/llhttp.js'

/**
 * The framing test end to end (key-proxy-framing.test.ts reads with the proxy's reader in memory): generated
 * request streams through the key proxy's real serving code (ProxyServer, its connections and upstream legs) to a
 * real node:http server (strict parser, `insecureHTTPParser: false`) standing for the provider, and the same
 * streams straight to that server (it must read them as the llhttp model does: the model is checked too). What
 * reached the upstream through the proxy must be what llhttp reads in the stream, request by request, never
 * more: no request smuggled in a body, no body cut short or run long, nothing the upstream refuses.
 */
interface Received {
  method: string
  url: string
  /** Header names and values, Host and the credential left out (the proxy sets those). */
  headers: Array<[string, string]>
  body: string
  complete: boolean
}

const token = 'agp-framing-test-token'
const key = 'sk-real-key-for-framing'

describe('the key proxy framing end to end (a real node:http upstream)', () => {
  let upstream: http.Server
  let upstreamUrl: string
  let upstreamPort: number
  /** What the upstream read, by connection, in the order connections came. */
  const byConnection = new Map<net.Socket, { received: Received[]; error?: string }>()

  beforeAll(async () => {
    upstream = http.createServer(
      { insecureHTTPParser: false, requireHostHeader: false, maxHeaderSize: 80 * 1024 },
      (req, res) => {
        const entry = byConnection.get(req.socket)
        const headers: Array<[string, string]> = []
        for (let i = 0; i < req.rawHeaders.length; i += 2)
          headers.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? ''])
        const got: Received = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: headers.filter(([n]) => !/^(host|authorization)$/i.test(n)),
          body: '',
          complete: false,
        }
        entry?.received.push(got)
        req.setEncoding('latin1')
        req.on('data', (c: string) => {
          got.body += c
        })
        req.on('end', () => {
          got.complete = true
          res.end('ok')
        })
      },
    )
    upstream.on('connection', (socket: net.Socket) => byConnection.set(socket, { received: [] }))
    upstream.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      const entry = byConnection.get(socket)
      if (entry) entry.error = err.code
      socket.destroy()
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    upstreamPort = (upstream.address() as AddressInfo).port
    upstreamUrl = `http://127.0.0.1:${upstreamPort}`
  })
  afterAll(async () => {
    upstream?.closeAllConnections()
    await new Promise((r) => upstream?.close(r))
  })

  /**
   * Sends `stream` on a connection of its own to `port`, ends it, and waits until it closed (then `after`) and
   * every upstream connection it caused did: what the upstream read on those.
   */
  async function sendTo(
    port: number,
    stream: Buffer,
    after?: () => Promise<void>,
  ): Promise<{ received: Received[]; errors: string[] }> {
    const opened: net.Socket[] = []
    const track = (socket: net.Socket) => opened.push(socket)
    upstream.on('connection', track)
    try {
      const agent = net.connect(port, '127.0.0.1')
      agent.on('data', () => {})
      agent.on('error', () => {})
      await once(agent, 'connect')
      agent.end(stream)
      await once(agent, 'close')
      await after?.()
      await Promise.all(opened.map((s) => (s.destroyed ? undefined : once(s, 'close'))))
    } finally {
      upstream.off('connection', track)
    }
    return {
      received: opened.flatMap((s) => byConnection.get(s)?.received ?? []),
      errors: opened.map((s) => byConnection.get(s)?.error).filter((e) => e !== undefined),
    }
  }

  it('forwards what llhttp reads in each generated stream, request by request, and nothing else', async () => {
    const random = new Random(0xe2e_f00d)
    const failures: string[] = []
    let forwarded = 0
    let refusedDirect = 0
    for (let n = 0; n < 300 && failures.length < 3; n++) {
      const text = requestStream(random).toString('latin1')
      // upgrades and CONNECT are left out: node:http without an upgrade listener reads them as it likes
      if (/upgrade|CONNECT/i.test(text)) continue
      const stream = Buffer.from(
        text
          .replace(/Host: ?x\r\n/g, `Host: x\r\nAuthorization: Bearer ${token}\r\n`)
          // most requests to the provider's path (the rest the proxy answers itself)
          .replace(/^([A-Z-]+ )\/(?!openai\/)/gm, '$1/openai/'),
        'latin1',
      )
      const proxy = await ProxyServer.listen([{ provider: 'openai', url: upstreamUrl, key }], (t) =>
        t === token ? 'openai' : undefined,
      )
      const { received: through, errors } = await sendTo(proxy.port, stream, () => proxy.close())
      // the same bytes straight to the upstream: node:http reads them as the llhttp model below does
      const direct = await sendTo(upstreamPort, stream)
      const ll = llhttpFrame('request', stream)
      // what the proxy forwards: the requests to its provider's path (others it answers itself)
      const expected = ll.messages.filter((m) => m.url?.startsWith('/openai/'))
      const wrong: string[] = []
      for (const [i, got] of through.entries()) {
        const want = expected[i]
        if (!want) {
          wrong.push(`the upstream read ${got.method} ${got.url}: not a request llhttp read`)
          continue
        }
        const wantHeaders = want.headers.filter(([name]) => !/^(host|authorization)$/i.test(name))
        if (got.method !== want.method || got.url !== want.url?.replace(/^\/openai/, ''))
          wrong.push(
            `request ${i}: ${got.method} ${got.url} upstream, ${want.method} ${want.url} in the stream`,
          )
        if (JSON.stringify(got.headers) !== JSON.stringify(wantHeaders))
          wrong.push(`request ${i}: headers ${JSON.stringify(got.headers)} vs ${JSON.stringify(wantHeaders)}`)
        if (got.complete && (!want.complete || got.body !== want.body.toString('latin1')))
          wrong.push(
            `request ${i}: body ${JSON.stringify(got.body)} vs ${JSON.stringify(want.body.toString('latin1'))}`,
          )
      }
      if (direct.received.length !== ll.messages.length || direct.errors.length > 0 !== !!ll.error)
        wrong.push(
          `node:http read ${direct.received.length} (${direct.errors}), llhttp ${ll.messages.length} (${ll.error})`,
        )
      // the proxy refuses what llhttp refuses before it reaches the upstream (a body found malformed midway ends
      // the upstream connection: what came of it is no request)
      if (errors.length > 0) wrong.push(`the upstream refused what the proxy sent: ${errors}`)
      if (wrong.length > 0)
        failures.push(`${JSON.stringify(stream.toString('latin1'))}\n  ${wrong.join('\n  ')}`)
      forwarded += through.filter((r) => r.complete).length
      if (direct.errors.length > 0) refusedDirect++
    }
    expect(failures).toEqual([])
    expect(forwarded).toBeGreaterThan(100)
    expect(refusedDirect).toBeGreaterThan(30)
  })
})

describe('the key proxy pools an upstream connection only after answers it could follow', () => {
  /** A raw upstream answering every request with `answer`; how many connections it was given. */
  async function rawUpstream(
    answer: string,
  ): Promise<{ server: net.Server; port: number; connections: () => number }> {
    let connections = 0
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      connections++
      let seen = ''
      socket.on('data', (c: Buffer) => {
        seen += c.toString('latin1')
        // one answer per whole request head (these requests have no body)
        while (seen.includes('\r\n\r\n')) {
          seen = seen.slice(seen.indexOf('\r\n\r\n') + 4)
          socket.write(answer)
        }
      })
      socket.on('end', () => socket.end())
      socket.on('error', () => {})
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return { server, port: (server.address() as AddressInfo).port, connections: () => connections }
  }

  /** One agent connection: a request, its answer's `bytes` read, then the agent ends its side and it closes. */
  async function call(port: number, bytes: number): Promise<string> {
    const agent = net.connect(port, '127.0.0.1')
    let got = ''
    const answered = new Promise<void>((resolve) =>
      agent.on('data', (c: Buffer) => {
        got += c.toString('latin1')
        if (got.length >= bytes) resolve()
      }),
    )
    agent.on('error', () => {})
    await once(agent, 'connect')
    agent.write(`GET /openai/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`)
    await answered
    agent.end()
    if (!agent.destroyed) await once(agent, 'close')
    return got
  }

  it.each([
    {
      name: 'a well-formed answer',
      connections: 1,
      answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    },
    {
      name: 'a repeated Content-Length',
      connections: 2,
      answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok',
    },
    {
      name: 'a status below 100 (then an answer llhttp reads as its body)',
      connections: 2,
      answer: 'HTTP/1.1 099 OK\r\nContent-Length: 38\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    },
    {
      name: 'Connection: close, then keep-alive',
      connections: 2,
      answer: 'HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok',
    },
  ])(
    'after $name: $connections upstream connection(s) for two agent connections',
    async ({ answer, connections }) => {
      const upstream = await rawUpstream(answer)
      const proxy = await ProxyServer.listen(
        [{ provider: 'openai', url: `http://127.0.0.1:${upstream.port}`, key }],
        (t) => (t === token ? 'openai' : undefined),
      )
      try {
        expect(await call(proxy.port, answer.length)).toBe(answer)
        expect(await call(proxy.port, answer.length)).toBe(answer)
        expect(upstream.connections()).toBe(connections)
      } finally {
        await proxy.close()
        await new Promise((r) => upstream.server.close(r))
      }
    },
  )
})
