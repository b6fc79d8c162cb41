import type { ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'

/** One Server-Sent Event. A string `data` is sent as-is (one `data:` line per line), anything else as JSON. */
export interface SseEvent {
  id?: string | number
  event?: string
  data: unknown
}

export interface SseOptions {
  /** A `: keep-alive` comment this often while the stream is open, so proxies keep it; 0 disables. */
  keepAliveMs?: number
  headers?: Record<string, string>
}

/**
 * Streams Server-Sent Events on a hijacked reply, flushed as they are written, with backpressure.
 * `onClientGone` fires if the client disconnects before `end()`.
 */
export class SseWriter {
  private readonly raw: ServerResponse
  private readonly keepAlive: NodeJS.Timeout | undefined
  private ended = false

  constructor(reply: FastifyReply, onClientGone: () => void, opts: SseOptions = {}) {
    reply.hijack()
    this.raw = reply.raw
    this.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...opts.headers,
    })
    this.raw.flushHeaders()
    const keepAliveMs = opts.keepAliveMs ?? 15_000
    if (keepAliveMs > 0) {
      this.keepAlive = setInterval(() => {
        if (!this.closed) this.raw.write(': keep-alive\n\n')
      }, keepAliveMs)
      this.keepAlive.unref()
    }
    this.raw.on('close', () => {
      clearInterval(this.keepAlive)
      if (!this.ended) onClientGone()
    })
  }

  get closed(): boolean {
    return this.raw.destroyed || this.raw.writableEnded
  }

  async write(event: SseEvent): Promise<void> {
    if (this.closed) return
    if (!this.raw.write(encodeSse(event))) {
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
    clearInterval(this.keepAlive)
    if (!this.closed) this.raw.end()
  }
}

/** The wire form of one event; line breaks in fields cannot break the framing. */
export function encodeSse({ id, event, data }: SseEvent): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data ?? null)
  let out = ''
  if (id !== undefined) out += `id: ${oneLine(String(id))}\n`
  if (event !== undefined) out += `event: ${oneLine(event)}\n`
  for (const line of text.split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  return `${out}\n`
}

const oneLine = (s: string) => s.replace(/[\r\n]/g, ' ')
