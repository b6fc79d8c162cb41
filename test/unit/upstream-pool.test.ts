import { once } from 'node:events'
import net, { type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
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

  it('gives back what it took, per route, with one set of listeners for the life of the connection and no timer of its own', async () => {
    // codex opens an agent connection per model call: each call takes the connection and gives it back, and that
    // hand-over adds and removes no listener and arms no timer on it (was ~18 listener changes and 2 timers a call)
    const pool = new UpstreamPool()
    const { client } = await pair()
    const events = ['timeout', 'data', 'end', 'close', 'error', 'drain']
    const counts = () => events.map((e) => client.listenerCount(e))
    pool.give('openai direct', client)
    const pooled = counts()
    const changes: string[] = []
    client.on('removeListener', (e: string) => changes.push(`-${e}`))
    client.on('newListener', (e: string) => changes.push(`+${e}`))
    const setTimeoutOf = vi.spyOn(client, 'setTimeout')
    for (let i = 0; i < 20; i++) {
      expect(pool.take('anthropic direct')).toBeUndefined()
      expect(pool.take('openai direct')).toBe(client)
      pool.give('openai direct', client)
    }
    expect(changes).toEqual([])
    expect(setTimeoutOf).not.toHaveBeenCalled()
    expect(counts()).toEqual(pooled)
    expect(pool.take('openai direct')).toBe(client)
    expect(pool.take('openai direct')).toBeUndefined()
  })

  it('drops a connection idle for a minute, and keeps one given later until its own minute is up', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    try {
      const pool = new UpstreamPool()
      const a = await pair()
      const b = await pair()
      pool.give('r', a.client)
      vi.advanceTimersByTime(30_000)
      pool.give('r', b.client)
      vi.advanceTimersByTime(30_000)
      expect(a.client.destroyed).toBe(true)
      expect(b.client.destroyed).toBe(false)
      vi.advanceTimersByTime(29_000)
      expect(b.client.destroyed).toBe(false)
      vi.advanceTimersByTime(1_000)
      expect(b.client.destroyed).toBe(true)
      expect(pool.take('r')).toBeUndefined()
    } finally {
      vi.useRealTimers()
    }
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
