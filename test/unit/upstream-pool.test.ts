import { once } from 'node:events'
import net, { type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { UpstreamPool } from '../../src/process/key-proxy/upstream-pool.js'

/** The key proxy's pool of idle upstream connections, over real sockets. */
describe('UpstreamPool', () => {
  const cleanup: Array<() => void> = []
  afterEach(() => {
    for (const c of cleanup.splice(0)) c()
  })

  async function pair(): Promise<{ client: net.Socket; server: net.Socket }> {
    const listener = net.createServer()
    listener.listen(0, '127.0.0.1')
    await once(listener, 'listening')
    const accepted = once(listener, 'connection')
    const client = net.connect((listener.address() as AddressInfo).port, '127.0.0.1')
    const [server] = (await accepted) as [net.Socket]
    cleanup.push(() => {
      client.destroy()
      server.destroy()
      listener.close()
    })
    return { client, server }
  }

  it('gives back what it took, per route, and leaves no listener behind after many rounds', async () => {
    const pool = new UpstreamPool()
    const { client } = await pair()
    const before = ['timeout', 'data', 'end', 'close', 'error'].map((e) => client.listenerCount(e))
    for (let i = 0; i < 20; i++) {
      pool.give('openai direct', client)
      expect(pool.take('anthropic direct')).toBeUndefined()
      expect(pool.take('openai direct')).toBe(client)
    }
    expect(['timeout', 'data', 'end', 'close', 'error'].map((e) => client.listenerCount(e))).toEqual(before)
    expect(pool.take('openai direct')).toBeUndefined()
  })

  it('drops a connection the upstream closes or writes to while it is idle', async () => {
    const pool = new UpstreamPool()
    const a = await pair()
    const b = await pair()
    pool.give('r', a.client)
    pool.give('r', b.client)
    const aClosed = once(a.client, 'close')
    a.server.end()
    await aClosed
    const bClosed = once(b.client, 'close')
    b.server.write('unasked')
    await bClosed
    expect(pool.take('r')).toBeUndefined()
  })
})
