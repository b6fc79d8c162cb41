import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net, { type AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { KeyProxy } from '../../src/process/key-proxy/key-proxy.js'
import { selfSignedCert } from '../support/h2-client.js'

/**
 * The key proxy's connections (proxy-connection.ts: each agent connection paired with one upstream connection, the
 * bytes passed as they come): requests as agents may send them over a raw socket (in pieces, chunked, pipelined,
 * malformed), answers larger than a socket's buffer, and a connection that moves from one provider to another.
 */
interface Seen {
  /** The upstream connection it came on (its client port). */
  port: number | undefined
  url: string
  key: string | undefined
  body: Buffer
}

const keys = { openai: 'sk-real-openai-0123456789', anthropic: 'real-anthropic-0123456789' }
const big = Buffer.alloc(16 * 1024 * 1024, 'abcdefghijklmnopqrstuvwxyz')

describe('KeyProxy connections', () => {
  let upstream: http.Server
  let proxy: KeyProxy
  let seen: Seen[] = []

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        const key = (req.headers.authorization ?? req.headers['x-api-key']) as string | undefined
        seen.push({ port: req.socket.remotePort, url: req.url ?? '', key, body })
        if (req.url?.endsWith('/big')) return void res.end(big)
        res.end(JSON.stringify({ n: seen.length, bytes: body.length, sha: sha(body) }))
      })
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
    proxy = await KeyProxy.start([
      { provider: 'openai', url: `${url}/v1`, key: keys.openai },
      { provider: 'anthropic', url, key: keys.anthropic },
    ])
  })
  afterAll(async () => {
    await proxy?.close()
    upstream?.closeAllConnections()
    await new Promise((r) => upstream?.close(r))
  })
  beforeEach(() => {
    seen = []
  })

  it('takes a request that comes in many small pieces', async () => {
    const token = proxy.mint('openai')
    const body = Buffer.from(JSON.stringify({ input: 'x'.repeat(5000) }))
    const request = Buffer.concat([
      Buffer.from(
        `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      ),
      body,
    ])
    const agent = await connect(proxy.port)
    try {
      for (let at = 0; at < request.length; at += 7) await write(agent, request.subarray(at, at + 7))
      const [answer] = await answers(agent, 1)
      expect(answer?.status).toBe(200)
      expect(JSON.parse(answer?.body ?? '')).toMatchObject({ bytes: body.length, sha: sha(body) })
      expect(seen).toMatchObject([{ url: '/v1/responses', key: `Bearer ${keys.openai}` }])
    } finally {
      agent.destroy()
    }
  })

  it('passes a chunked request body as it comes, and reads the next request after it', async () => {
    const token = proxy.mint('openai')
    const agent = await connect(proxy.port)
    try {
      await write(
        agent,
        `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      )
      await write(agent, '5;ext=1\r\nhello\r\n')
      await write(agent, '6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n')
      await write(agent, `GET /openai/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`)
      const got = await answers(agent, 2)
      expect(got.map((a) => a.status)).toEqual([200, 200])
      expect(seen.map((s) => [s.url, s.body.toString()])).toEqual([
        ['/v1/responses', 'hello world'],
        ['/v1/models', ''],
      ])
    } finally {
      agent.destroy()
    }
  })

  it('answers pipelined requests in order, a refusal among them in its place', async () => {
    const token = proxy.mint('openai')
    const call = (auth: string, body: string) =>
      `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${auth}\r\nContent-Length: ${body.length}\r\n\r\n${body}`
    const agent = await connect(proxy.port)
    try {
      // an empty line before a request line is ignored (some clients end a body with one)
      await write(
        agent,
        `${call(token, '{"a":1}')}\r\n${call('agp-revoked', '{"b":2}')}${call(token, '{"c":3}')}`,
      )
      const got = await answers(agent, 3)
      expect(got.map((a) => a.status)).toEqual([200, 401, 200])
      expect(JSON.parse(got[0]?.body ?? '')).toMatchObject({ n: 1 })
      expect(JSON.parse(got[1]?.body ?? '')).toMatchObject({ error: { code: 'unauthorized' } })
      expect(JSON.parse(got[2]?.body ?? '')).toMatchObject({ n: 2 })
      expect(seen.map((s) => s.body.toString())).toEqual(['{"a":1}', '{"c":3}'])
    } finally {
      agent.destroy()
    }
  })

  it('answers a request that asked to close, then closes: what came after it is dropped, not answered', async () => {
    const token = proxy.mint('openai')
    const agent = await connect(proxy.port)
    const received: Buffer[] = []
    agent.on('data', (chunk: Buffer) => received.push(chunk))
    const closed = once(agent, 'close')
    await write(
      agent,
      `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n` +
        `Content-Length: 7\r\n\r\n{"a":1}` +
        `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 7\r\n\r\n{"b":2}`,
    )
    await closed
    const text = Buffer.concat(received).toString('latin1')
    // RFC 9112 9.6: one answer, then the connection ends (before, a 400 for the second request followed it)
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200'])
    expect(seen.map((s) => s.body.toString())).toEqual(['{"a":1}'])
  })

  it('ends the connection after the answer to a request that asked to close, even when the upstream keeps its own', async () => {
    // an upstream that ignores the close: it answers every request and keeps its connection open
    const lax = net.createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        const requests = chunk.toString('latin1').match(/^POST /gm)?.length ?? 0
        for (let i = 0; i < requests; i++) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
      })
      socket.on('error', () => {})
    })
    lax.listen(0, '127.0.0.1')
    await once(lax, 'listening')
    const laxProxy = await KeyProxy.start([
      {
        provider: 'openai',
        url: `http://127.0.0.1:${(lax.address() as AddressInfo).port}/v1`,
        key: keys.openai,
      },
    ])
    const agent = await connect(laxProxy.port)
    try {
      const token = laxProxy.mint('openai')
      const received: Buffer[] = []
      agent.on('data', (chunk: Buffer) => received.push(chunk))
      const closed = once(agent, 'close')
      const call = (headers: string) =>
        `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n${headers}Content-Length: 2\r\n\r\n{}`
      await write(agent, call('Connection: close\r\n') + call(''))
      await closed
      expect(
        Buffer.concat(received)
          .toString('latin1')
          .match(/HTTP\/1\.1 \d{3}/g),
      ).toEqual(['HTTP/1.1 200'])
    } finally {
      agent.destroy()
      await laxProxy.close()
      await new Promise((r) => lax.close(r))
    }
  })

  it('passes an answer larger than the sockets can hold, and a request as large, whole', async () => {
    const token = proxy.mint('openai')
    const res = await fetch(`${proxy.url('openai')}/big`, { headers: { authorization: `Bearer ${token}` } })
    const body = Buffer.from(await res.arrayBuffer())
    expect(body.length).toBe(big.length)
    expect(sha(body)).toBe(sha(big))
    const sent = await fetch(`${proxy.url('openai')}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: big,
    })
    expect(await sent.json()).toMatchObject({ bytes: big.length, sha: sha(big) })
  })

  it('moves a connection to another provider once the answers before are through', async () => {
    const openai = proxy.mint('openai')
    const anthropic = proxy.mint('anthropic')
    const agent = await connect(proxy.port)
    try {
      await write(
        agent,
        `POST /openai/responses HTTP/1.1\r\nHost: x\r\n__proto__: x\r\nConstructor: y\r\nAuthorization: Bearer ${openai}\r\nContent-Length: 2\r\n\r\n{}` +
          `POST /anthropic/v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: ${anthropic}\r\nContent-Length: 2\r\n\r\n{}`,
      )
      const got = await answers(agent, 2)
      expect(got.map((a) => a.status)).toEqual([200, 200])
      expect(seen.map((s) => [s.url, s.key])).toEqual([
        ['/v1/responses', `Bearer ${keys.openai}`],
        ['/v1/messages', keys.anthropic],
      ])
    } finally {
      agent.destroy()
    }
  })

  it('lets an agent that opens a connection per call reuse one upstream connection', async () => {
    // codex's app-server opens a connection per model call: without the pool each would cost a TCP (and TLS)
    // handshake to the provider
    const token = proxy.mint('openai')
    for (let i = 0; i < 3; i++) {
      const answer = await callOnOwnConnection(proxy.port, token)
      expect(answer?.status).toBe(200)
    }
    expect(seen).toHaveLength(3)
    expect(new Set(seen.map((s) => s.port)).size).toBe(1)
  })

  it('sends a call again, once, on a new connection when the upstream closed the pooled one it was sent on', async () => {
    // the upstream drops every connection on its second request, unanswered: as a server does that closes an idle
    // connection just as it is taken again
    const requestsOn = new WeakMap<net.Socket, number>()
    const bodies: string[] = []
    const dropping = http.createServer((req, res) => {
      const n = (requestsOn.get(req.socket) ?? 0) + 1
      requestsOn.set(req.socket, n)
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        bodies.push(body)
        if (n === 2) req.socket.destroy()
        else res.end(`{"n":${bodies.length}}`)
      })
    })
    dropping.listen(0, '127.0.0.1')
    await once(dropping, 'listening')
    const port = (dropping.address() as AddressInfo).port
    const own = await KeyProxy.start([
      { provider: 'openai', url: `http://127.0.0.1:${port}/v1`, key: 'k-0123456789' },
    ])
    try {
      const token = own.mint('openai')
      const call = async (body: string) => {
        const agent = await connect(own.port)
        const closed = once(agent, 'close')
        await write(
          agent,
          `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        )
        const [answer] = await answers(agent, 1, false)
        agent.end()
        await closed
        return answer
      }
      expect((await call('{"first":1}'))?.status).toBe(200)
      const second = await call('{"second":2}')
      expect(second?.status).toBe(200)
      expect(JSON.parse(second?.body ?? '')).toEqual({ n: 3 })
      expect(bodies).toEqual(['{"first":1}', '{"second":2}', '{"second":2}'])
    } finally {
      await own.close()
      dropping.closeAllConnections()
      await new Promise((r) => dropping.close(r))
    }
  })

  it('does not send a call again when the upstream closed in answer to the agent ending its side', async () => {
    // a killed agent's connection ends (FIN) while its call waits for an answer; the proxy ends the upstream's
    // side in turn, and Node's server closes: that close is the agent's doing, not the idle-close race
    const bodies: string[] = []
    const holding = http.createServer((req, res) => {
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        bodies.push(body)
        if (body === '{"first":1}') res.end('{}')
      })
    })
    holding.listen(0, '127.0.0.1')
    await once(holding, 'listening')
    const own = await KeyProxy.start([
      {
        provider: 'openai',
        url: `http://127.0.0.1:${(holding.address() as AddressInfo).port}/v1`,
        key: 'k-0123456789',
      },
    ])
    try {
      const token = own.mint('openai')
      const request = (body: string) =>
        `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n\r\n${body}`
      const first = await connect(own.port)
      const firstClosed = once(first, 'close')
      await write(first, request('{"first":1}'))
      await answers(first, 1, false)
      first.end()
      await firstClosed
      // the second call goes on the pooled connection; its agent ends its side once the upstream has it
      const second = await connect(own.port)
      second.resume()
      const secondClosed = once(second, 'close')
      await write(second, request('{"second":2}'))
      await until(() => bodies.length === 2)
      second.end()
      await secondClosed
      expect(bodies).toEqual(['{"first":1}', '{"second":2}'])
    } finally {
      await own.close()
      holding.closeAllConnections()
      await new Promise((r) => holding.close(r))
    }
  })

  it('reaches an https upstream directly (TLS), and reuses the connection for the next agent connection', async () => {
    const { certPath, keyPath } = selfSignedCert()
    const ports: Array<number | undefined> = []
    const secure = https.createServer(
      { key: readFileSync(keyPath), cert: readFileSync(certPath) },
      (req, res) => {
        ports.push(req.socket.remotePort)
        req.resume()
        req.on('end', () => res.end(JSON.stringify({ key: req.headers.authorization })))
      },
    )
    secure.listen(0, '127.0.0.1')
    await once(secure, 'listening')
    // the thread's env is a copy of this one's when it starts: it trusts the self-signed upstream
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
    const own = await KeyProxy.start([
      {
        provider: 'openai',
        url: `https://127.0.0.1:${(secure.address() as AddressInfo).port}/v1`,
        key: keys.openai,
      },
    ]).finally(() => {
      delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
    })
    try {
      const token = own.mint('openai')
      for (let i = 0; i < 2; i++) {
        const answer = await callOnOwnConnection(own.port, token)
        expect(JSON.parse(answer?.body ?? '')).toEqual({ key: `Bearer ${keys.openai}` })
      }
      expect(ports).toHaveLength(2)
      expect(ports[1]).toBe(ports[0])
    } finally {
      await own.close()
      secure.closeAllConnections()
      await new Promise((r) => secure.close(r))
    }
  })

  it('refuses a request that waits for 100 Continue at once, without its body', async () => {
    const agent = await connect(proxy.port)
    try {
      await write(
        agent,
        'POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer agp-unknown\r\n' +
          'Expect: 100-continue\r\nContent-Length: 10\r\n\r\n',
      )
      const [answer] = await answers(agent, 1)
      expect(answer?.status).toBe(401)
    } finally {
      agent.destroy()
    }
  })

  it('refuses requests the upstream could frame otherwise (400), and sends none of them', async () => {
    const token = proxy.mint('openai')
    const head = `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n`
    for (const bad of [
      `${head}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `${head}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
      `${head}X-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\n{}`,
      `${head}X-Bare: a\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}`,
      `${head}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    ]) {
      const agent = await connect(proxy.port)
      try {
        await write(agent, bad)
        const [answer] = await answers(agent, 1)
        expect(answer?.status, bad).toBeGreaterThanOrEqual(400)
        expect(answer?.status, bad).toBeLessThan(502)
      } finally {
        agent.destroy()
      }
    }
    expect(seen).toEqual([])
  })
})

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** One call to /openai/responses on a connection of its own (opened, answered, closed): an agent's call. */
async function callOnOwnConnection(port: number, token: string) {
  const agent = await connect(port)
  const closed = once(agent, 'close')
  await write(
    agent,
    `POST /openai/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 2\r\n\r\n{}`,
  )
  const [answer] = await answers(agent, 1, false)
  agent.end()
  await closed
  return answer
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1')
  socket.setNoDelay(true)
  await once(socket, 'connect')
  return socket
}

/** Writes and waits until the bytes left this process (each piece its own TCP segment, mostly). */
function write(socket: net.Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())))
}

/**
 * The next `count` answers on `socket` (each with a Content-Length, as the test's upstream and the proxy send);
 * `done`: the socket is not used after (else it is left open and reading).
 */
async function answers(
  socket: net.Socket,
  count: number,
  done = true,
): Promise<Array<{ status: number; body: string }>> {
  let text = ''
  const got: Array<{ status: number; body: string }> = []
  const take = () => {
    for (;;) {
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = text.slice(0, end)
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0)
      if (text.length < end + 4 + length) return
      got.push({ status: Number(head.slice(9, 12)), body: text.slice(end + 4, end + 4 + length) })
      text = text.slice(end + 4 + length)
    }
  }
  socket.setEncoding('latin1')
  if (done) {
    // leaving the loop early destroys the socket: for callers done with it
    for await (const chunk of socket as AsyncIterable<string>) {
      text += chunk
      take()
      if (got.length >= count) break
    }
    return got
  }
  return new Promise((resolve, reject) => {
    const data = (chunk: string) => {
      text += chunk
      take()
      if (got.length < count) return
      socket.off('data', data)
      resolve(got)
    }
    socket.on('data', data)
    socket.once('error', reject)
    socket.once('close', () => reject(new Error(`the connection closed after ${got.length} answers`)))
  })
}

/** Resolves once `done()` holds, checked on each turn of the event loop. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setImmediate(r))
}
