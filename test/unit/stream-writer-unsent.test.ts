import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { FastifyReply } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { SseWriter } from '../../src/http/sse.js'
import { unsentBytesBound } from '../../src/http/stream-writer.js'

/** 40 KB frames (an output event's size in a burst), each naming its index. */
const frame = (i: number) =>
  `id: ${i}\nevent: output\ndata: ${String(i).padStart(6, '0')}${'x'.repeat(40_000)}\n\n`
const framesIn = (text: string) => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))

interface Opened {
  writer: SseWriter
  res: http.ServerResponse
  /** The server side's socket writes (each a write or writev system call when the kernel takes it all). */
  writes: () => number
  /** The client's response, paused: nothing is read until `read()`. */
  read: () => Promise<string>
}

const servers: http.Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
})

async function open(): Promise<Opened> {
  let opened!: (o: Omit<Opened, 'read'>) => void
  const serverSide = new Promise<Omit<Opened, 'read'>>((r) => (opened = r))
  const server = http.createServer((_req, res) => {
    type Write = (this: Socket, ...args: unknown[]) => unknown
    const socket = res.socket as Socket & { _writev: Write; _write: Write }
    let writes = 0
    for (const name of ['_writev', '_write'] as const) {
      const original = socket[name]
      socket[name] = function (this: Socket, ...args: unknown[]) {
        writes++
        return original.apply(this, args)
      }
    }
    const reply = { hijack() {}, raw: res } as unknown as FastifyReply
    opened({ writer: new SseWriter(reply, () => {}, { keepAliveMs: 0 }), res, writes: () => writes })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  const response = new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get({ host: '127.0.0.1', port, path: '/' }, resolve).on('error', reject),
  )
  const side = await serverSide
  const res = await response
  res.pause()
  const read = () =>
    new Promise<string>((resolve, reject) => {
      let text = ''
      res.setEncoding('latin1')
      res.on('data', (s: string) => (text += s))
      res.once('end', () => resolve(text))
      res.once('error', reject)
      res.resume()
    })
  return { ...side, read }
}

describe('a stream writer with frames larger than the socket high-water mark', () => {
  it('sends the frames its caller writes one after the other in one tick in one socket write, in order', async () => {
    const o = await open()
    const before = o.writes()
    // as sendEventStream writes a commit's events (or a replay's page): each write awaited before the next
    const sent = (async () => {
      for (let i = 0; i < 5; i++) await o.writer.writeFrame(frame(i))
    })()
    await sent
    await new Promise((r) => setImmediate(r))
    // was 5: each write waited for 'drain', i.e. for its own socket write
    expect(o.writes() - before).toBe(1)
    o.writer.end()
    expect(framesIn(await o.read())).toEqual([0, 1, 2, 3, 4])
  })

  it('makes its writes wait once the unsent bytes pass the bound, and loses nothing of them', async () => {
    const o = await open()
    // the client reads nothing: the kernel's buffers fill, then the response's own
    let written = 0
    for (;;) {
      const write = o.writer.writeFrame(frame(written))
      written++
      const state = await Promise.race([
        write.then(() => 'sent'),
        new Promise<string>((r) => setImmediate(() => r('waiting'))),
      ])
      if (state === 'waiting') break
      expect(written).toBeLessThan(10_000)
    }
    expect(o.res.writableLength).toBeGreaterThanOrEqual(unsentBytesBound)
    // the writer waits for the client: everything written so far arrives, in order, once it reads
    const text = o.read()
    o.writer.end()
    expect(framesIn(await text)).toEqual([...Array(written).keys()])
  })
})
