import { once } from 'node:events'
import net, { type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { RequestHead } from '../../src/process/key-proxy/http-framing.js'
import { ProxyConnection } from '../../src/process/key-proxy/proxy-connection.js'
import type { Forward } from '../../src/process/key-proxy/proxy-decision.js'
import { UpstreamPool } from '../../src/process/key-proxy/upstream-pool.js'

/**
 * A model call as codex's app-server makes it, through the key proxy's ProxyConnection (on this thread, real sockets
 * both sides): a new agent connection per call, one request, its answer, then the agent ends its side. The pooled
 * upstream connection goes from the pool to the call and back each time; what that hand-over and the agent's end
 * cost the proxy's thread is counted here, and what the agent sees is checked.
 */
describe('a call per agent connection through the key proxy', () => {
  const closers: Array<() => void> = []
  afterEach(() => {
    for (const close of closers.splice(0)) close()
  })

  async function setUp() {
    const upstream = net.createServer((socket) => {
      let text = ''
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1')
        if (!text.endsWith('\r\n\r\n{}')) return
        text = ''
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nanswer!')
      })
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    closers.push(() => upstream.close())
    const upstreamSocket = net.connect((upstream.address() as AddressInfo).port, '127.0.0.1')
    await once(upstreamSocket, 'connect')
    closers.push(() => upstreamSocket.destroy())
    const pool = new UpstreamPool()
    closers.push(() => pool.close())
    pool.give('p', upstreamSocket)
    const decide = (head: RequestHead): Forward => ({
      pairing: 'p',
      head: `POST /v1/responses HTTP/1.1\r\n${head.lines.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`,
      open: () => Promise.reject(new Error('the pooled connection is taken')),
    })
    const front = net.createServer({ allowHalfOpen: true })
    front.listen(0, '127.0.0.1')
    await once(front, 'listening')
    closers.push(() => front.close())
    /** The proxy's side of each agent connection, with the calls of `end` made on it. */
    const served: Array<{ socket: net.Socket; ends: number }> = []
    front.on('connection', (socket: net.Socket) => {
      const entry = { socket, ends: 0 }
      const end = socket.end.bind(socket) as (...a: unknown[]) => net.Socket
      socket.end = ((...a: unknown[]) => {
        entry.ends++
        return end(...a)
      }) as typeof socket.end
      served.push(entry)
      closers.push(() => socket.destroy())
      new ProxyConnection(socket, decide, pool)
    })
    /** One call on a connection of its own: what the agent read, and how its connection ended. */
    const call = async () => {
      const agent = net.connect((front.address() as AddressInfo).port, '127.0.0.1')
      closers.push(() => agent.destroy())
      await once(agent, 'connect')
      let text = ''
      let resetOrError: unknown
      agent.on('error', (err) => {
        resetOrError = err
      })
      const ended = once(agent, 'end')
      const closed = once(agent, 'close')
      agent.on('data', (c: Buffer) => {
        text += c.toString('latin1')
        // the answer is whole: the agent ends its side, as codex does after each call
        if (text.endsWith('answer!')) agent.end()
      })
      agent.write('POST /openai/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}')
      await ended
      await closed
      return { text, resetOrError }
    }
    return { upstreamSocket, served, call }
  }

  it('hands the upstream connection over without adding or removing a listener, and closes the agent without a shutdown of its own', async () => {
    const { upstreamSocket, served, call } = await setUp()
    const first = await call()
    expect(first.text).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*answer!$/)
    const changes: string[] = []
    upstreamSocket.on('removeListener', (e: string) => changes.push(`-${e}`))
    upstreamSocket.on('newListener', (e: string) => changes.push(`+${e}`))
    for (let i = 0; i < 5; i++) {
      const next = await call()
      // the agent got the whole answer and a clean end of its connection, not a reset
      expect(next.text).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*answer!$/)
      expect(next.resetOrError).toBeUndefined()
    }
    // every call went on the one pooled upstream connection
    expect(upstreamSocket.destroyed).toBe(false)
    // before: the pool's five listeners off and the leg's four on at each take, and back at each give
    expect(changes).toEqual([])
    // before: end() at the agent's end, a shutdown(2) before the close; now the close alone, nothing being buffered
    await Promise.all(served.map(({ socket }) => (socket.closed ? undefined : once(socket, 'close'))))
    expect(served.map((s) => s.ends)).toEqual([0, 0, 0, 0, 0, 0])
  })
})
