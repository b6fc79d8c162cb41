import type { ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'

/**
 * Streams NDJSON frames on a hijacked reply: one JSON object per line, flushed as it is written, with
 * backpressure. `onClientGone` fires if the client disconnects before the stream ended.
 */
export class NdjsonWriter {
  private readonly raw: ServerResponse
  private ended = false

  constructor(reply: FastifyReply, onClientGone: () => void, headers: Record<string, string> = {}) {
    reply.hijack()
    this.raw = reply.raw
    this.raw.writeHead(200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...headers,
    })
    this.raw.flushHeaders()
    this.raw.on('close', () => {
      if (!this.ended) onClientGone()
    })
  }

  get closed(): boolean {
    return this.raw.destroyed || this.raw.writableEnded
  }

  async write(frame: unknown): Promise<void> {
    if (this.closed) return
    if (!this.raw.write(`${JSON.stringify(frame)}\n`)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.raw.off('drain', done)
          this.raw.off('close', done)
          resolve()
        }
        this.raw.on('drain', done)
        this.raw.on('close', done)
      })
    }
  }

  end(): void {
    this.ended = true
    if (!this.closed) this.raw.end()
  }
}
