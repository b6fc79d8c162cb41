import { once } from 'node:events'
import net, { type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ProxyConnection } from '../../src/process/key-proxy/proxy-connection.js'
import { refusal } from '../../src/process/key-proxy/proxy-decision.js'
import { UpstreamPool } from '../../src/process/key-proxy/upstream-pool.js'

/**
 * A request head that does not come whole in time (slowloris: a byte now and then holds a connection and its
 * buffer) is answered 408 and the connection ends. The proxy's default is 60 s (node:http's headersTimeout); this
 * test gives its connection 50 ms and waits for the answer, not for the clock.
 */
describe('the key proxy head timeout', () => {
  const servers: net.Server[] = []
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
  })

  async function proxyWith(headTimeoutMs: number): Promise<number> {
    const pool = new UpstreamPool()
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      new ProxyConnection(socket, () => refusal(404, 'not_found', 'nothing here'), pool, headTimeoutMs)
    })
    servers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return (server.address() as AddressInfo).port
  }

  async function everything(socket: net.Socket): Promise<string> {
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    await once(socket, 'end')
    return Buffer.concat(chunks).toString('latin1')
  }

  it('answers 408 and ends the connection when a head stays incomplete', async () => {
    const port = await proxyWith(50)
    const agent = net.connect(port, '127.0.0.1')
    try {
      await once(agent, 'connect')
      const answer = everything(agent)
      agent.write('POST /openai/responses HTTP/1.1\r\nHost: x\r\nX-Slow: a')
      const text = await answer
      expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
      expect(text).toMatch(/\r\nconnection: close\r\n/)
      expect(text).toContain('the request head did not come whole in time')
    } finally {
      agent.destroy()
    }
  })
})
