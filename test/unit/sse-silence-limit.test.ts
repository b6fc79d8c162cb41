import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silenceLimitMs, sseFrames } from '../../src/client/sse-connection.js'

/** The bounds (sse-connection.ts minSilenceLimitMs, maxSilenceLimitMs), spelled out. */
const minSilenceLimitMs = 2_500
const maxSilenceLimitMs = 2_147_483_647

describe('silenceLimitMs: how long a stream may stay silent, from the X-Keepalive-Seconds a server announced', () => {
  it('is 2.5 times the interval within its bounds; no bound without a positive number', () => {
    expect(silenceLimitMs('15')).toBe(37_500)
    expect(silenceLimitMs('1')).toBe(2_500)
    for (const none of [null, '', '0', '-3', 'soon', 'NaN', 'Infinity']) expect(silenceLimitMs(none)).toBe(0)
  })

  it('has a floor: a tiny interval (0.1 s, 0.001 s) no longer aborts every stream quiet for a quarter second', () => {
    for (const tiny of ['0.1', '0.001', '1e-9', '0.5']) expect(silenceLimitMs(tiny)).toBe(minSilenceLimitMs)
  })

  it('has a ceiling: past 2^31-1 ms a timer fires at once, which aborted the stream at once', () => {
    expect(silenceLimitMs('1e9')).toBe(maxSilenceLimitMs)
    expect(silenceLimitMs(String(Number.MAX_VALUE))).toBe(maxSilenceLimitMs)
    // 858993 s: 2.5x is 2_147_482_500 ms, just under the ceiling; one second more is over it
    expect(silenceLimitMs('858993')).toBe(2_147_482_500)
    expect(silenceLimitMs('858994')).toBe(maxSilenceLimitMs)
  })
})

/** A server over a real socket that announces `X-Keepalive-Seconds: <value>` and sends one event. */
describe('sseFrames takes the bounded limit from a real answer', () => {
  let server: Server
  let url = ''
  beforeAll(async () => {
    server = createServer((req, res) => {
      const announced = new URL(req.url ?? '/', 'http://x').searchParams.get('k') ?? ''
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-keepalive-seconds': announced })
      res.end('id: 1\ndata: {"seq":1}\n\n')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it.each([
    ['0.1', minSilenceLimitMs],
    ['1e12', maxSilenceLimitMs],
    ['15', 37_500],
  ])(
    'X-Keepalive-Seconds: %s gives a silence bound of %i ms, and the stream is read',
    async (announced, limit) => {
      const limits: number[] = []
      const frames = []
      for await (const frame of sseFrames(`${url}/?k=${announced}`, {
        headers: {},
        onOpen: (ms) => limits.push(ms),
      }))
        frames.push(frame)
      expect(limits).toEqual([limit])
      expect(frames.map((f) => f.data)).toEqual(['{"seq":1}'])
    },
  )
})
