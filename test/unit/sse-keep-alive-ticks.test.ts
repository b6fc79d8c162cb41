import { createHook } from 'node:async_hooks'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyReply } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { keepAliveTicks } from '../../src/http/keep-alive-ticks.js'
import { SseWriter } from '../../src/http/sse.js'

/** The timers (Timeout objects, unref'd ones too) made while it runs and not yet gone. */
function timersMade() {
  const live = new Set<number>()
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout') live.add(id)
    },
    destroy(id) {
      live.delete(id)
    },
  }).enable()
  return { live: () => live.size, stop: () => hook.disable() }
}

interface Client {
  /** Resolves once this many keep-alive comments came. */
  beats(n: number): Promise<void>
  close(): void
}

const servers: http.Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
})

async function sseServer(keepAliveMs: number) {
  const writers: SseWriter[] = []
  const server = http.createServer((_req, res) => {
    const reply = { hijack() {}, raw: res } as unknown as FastifyReply
    writers.push(new SseWriter(reply, () => {}, { keepAliveMs }))
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  const agent = new http.Agent({ keepAlive: false })
  const connect = () =>
    new Promise<Client>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        let beats = 0
        let waiting: { n: number; done: () => void } | null = null
        res.setEncoding('utf8')
        res.on('data', (text: string) => {
          beats += text.split(': keep-alive\n\n').length - 1
          if (waiting && beats >= waiting.n) waiting.done()
        })
        res.on('error', () => {})
        resolve({
          beats: (n) =>
            new Promise<void>((done) => {
              if (beats >= n) done()
              else waiting = { n, done }
            }),
          close: () => req.destroy(),
        })
      })
      req.on('error', reject)
    })
  return { connect, writers }
}

describe('SSE keep-alive comments', () => {
  it('every open stream gets them from one shared timer: opening streams adds no timer per stream', async () => {
    const { connect, writers } = await sseServer(50)
    const made = timersMade()
    try {
      const clients = []
      for (let i = 0; i < 40; i++) clients.push(await connect())
      // one for all (before: one per stream); Node's HTTP may hold one of its own (its Date header's cache)
      expect(made.live()).toBeLessThanOrEqual(2)
      await Promise.all(clients.map((c) => c.beats(2)))

      // the streams still open keep getting them; closed ones are dropped, and the last one's end stops the timer
      for (const c of clients.slice(0, 20)) c.close()
      await Promise.all(clients.slice(20).map((c) => c.beats(4)))
      expect(keepAliveTicks.timers).toBe(1)
      for (const w of writers) w.end()
      expect(keepAliveTicks.timers).toBe(0)
    } finally {
      made.stop()
    }
  })
})
