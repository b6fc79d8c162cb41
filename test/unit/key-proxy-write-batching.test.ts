import { once } from 'node:events'
import net, { type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { RequestHead } from '../../src/process/key-proxy/http-framing.js'
import { ProxyConnection } from '../../src/process/key-proxy/proxy-connection.js'
import type { Forward } from '../../src/process/key-proxy/proxy-decision.js'
import { UpstreamPool } from '../../src/process/key-proxy/upstream-pool.js'

/**
 * How a ProxyConnection hands a request to its upstream socket (on this thread, real sockets both sides): codex's
 * app-server opens a connection per model call, so every call is a new agent connection's first request, paired
 * with a pooled upstream connection during the read that brought it. Its head and the body bytes that came with
 * it go to the socket in one write, and a large body chunk the kernel takes at once does not pause the agent.
 */
describe('ProxyConnection writes upstream', () => {
  const closers: Array<() => void> = []
  afterEach(() => {
    for (const close of closers.splice(0)) close()
  })

  /** An upstream that answers each request (Content-Length bodies) with an empty 200, and the proxy's side. */
  async function setUp(): Promise<{
    agent: net.Socket
    upstreamSocket: net.Socket
    handoffs: Array<{ kind: 'write' | 'writev'; chunks: number }>
    agentPauses: () => number
    answered: (count: number) => Promise<string>
  }> {
    const upstream = net.createServer((socket) => {
      let text = ''
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1')
        const end = text.indexOf('\r\n\r\n')
        const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? -1)
        if (end >= 0 && text.length - end - 4 >= length)
          socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
      })
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    const port = (upstream.address() as AddressInfo).port
    closers.push(() => {
      upstream.close()
    })
    // the pooled upstream connection the agent's first request is paired with
    const upstreamSocket = net.connect(port, '127.0.0.1')
    await once(upstreamSocket, 'connect')
    closers.push(() => upstreamSocket.destroy())
    const handoffs: Array<{ kind: 'write' | 'writev'; chunks: number }> = []
    const s = upstreamSocket as unknown as {
      _write: (...a: unknown[]) => void
      _writev: (chunks: unknown[], cb: unknown) => void
    }
    const write = s._write.bind(upstreamSocket)
    const writev = s._writev.bind(upstreamSocket)
    s._write = (...a) => {
      handoffs.push({ kind: 'write', chunks: 1 })
      write(...a)
    }
    s._writev = (chunks, cb) => {
      handoffs.push({ kind: 'writev', chunks: chunks.length })
      writev(chunks, cb)
    }
    const pool = new UpstreamPool()
    pool.give('p', upstreamSocket)
    // the head as the proxy's decide rewrites it: the agent's header lines, another request line
    const decide = (head: RequestHead): Forward => ({
      pairing: 'p',
      head: `POST /v1/responses HTTP/1.1\r\n${head.lines.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`,
      open: () => Promise.reject(new Error('the pooled connection is taken')),
    })
    let pauses = 0
    const front = net.createServer()
    front.listen(0, '127.0.0.1')
    await once(front, 'listening')
    closers.push(() => front.close())
    const accepted = once(front, 'connection') as Promise<[net.Socket]>
    const agent = net.connect((front.address() as AddressInfo).port, '127.0.0.1')
    closers.push(() => agent.destroy())
    await once(agent, 'connect')
    const [socket] = await accepted
    closers.push(() => socket.destroy())
    const pause = socket.pause.bind(socket)
    socket.pause = () => {
      pauses++
      return pause()
    }
    new ProxyConnection(socket, decide, pool)
    let text = ''
    agent.on('data', (c: Buffer) => {
      text += c.toString('latin1')
      agent.emit('answers', text.split('\r\n\r\nok').length - 1)
    })
    /** What the agent got once `count` answers came. */
    const answered = (count: number) =>
      new Promise<string>((resolve) => {
        const check = (got: number) => {
          if (got < count) return
          agent.off('answers', check)
          resolve(text)
        }
        agent.on('answers', check)
        check(text.split('\r\n\r\nok').length - 1)
      })
    return { agent, upstreamSocket, handoffs, agentPauses: () => pauses, answered }
  }

  it("sends a new connection's first request head and its body in one write", async () => {
    const { agent, handoffs, answered } = await setUp()
    const body = Buffer.from(JSON.stringify({ input: 'x'.repeat(2000) }))
    agent.write(
      Buffer.concat([
        Buffer.from(`POST /openai/responses HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`),
        body,
      ]),
    )
    expect(await answered(1)).toMatch(/^HTTP\/1\.1 200 OK/)
    // before: the head went alone (a TCP segment, and a wake-up of the upstream, of its own), then the body
    expect(handoffs).toEqual([{ kind: 'writev', chunks: 2 }])
  })

  it('does not pause the agent for a large body chunk the upstream socket took at once', async () => {
    const { agent, upstreamSocket, agentPauses, answered } = await setUp()
    const body = Buffer.alloc(40 * 1024, 'a')
    const request = Buffer.concat([
      Buffer.from(`POST /openai/responses HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ])
    agent.write(request)
    await answered(1)
    // the next request on the connection: its leg is held from the start of the read
    agent.write(request)
    expect(await answered(2)).toMatch(/200 OK[\s\S]*200 OK/)
    // the kernel took each write whole, so nothing waited here: the agent was never paused (before: a held write
    // said false for any chunk over 16 KB, which paused the agent's socket until the next tick's 'drain')
    expect(upstreamSocket.bytesWritten).toBeGreaterThan(2 * body.length)
    expect(agentPauses()).toBe(0)
  })
})
