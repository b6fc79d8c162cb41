import type { ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'

/**
 * The most bytes a stream leaves unsent (written, not yet taken by the socket) before its next write waits for
 * 'drain'. Stored events' frames are shared by all of a run's streams, so what waits is mostly references.
 */
export const unsentBytesBound = 256 * 1024

/**
 * A streamed response on a hijacked reply: headers flushed at once, every write flushed as it happens,
 * backpressure honoured, `onClientGone` called if the client disconnects before `end()`. The encoders
 * (NDJSON, SSE) are thin subclasses.
 */
export class StreamWriter {
  protected readonly raw: ServerResponse
  private ended = false
  private readonly cleanups: (() => void)[] = []

  constructor(
    reply: FastifyReply,
    contentType: string,
    onClientGone: () => void,
    headers: Record<string, string> = {},
  ) {
    reply.hijack()
    this.raw = reply.raw
    this.raw.writeHead(200, {
      'content-type': contentType,
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...headers,
    })
    this.raw.flushHeaders()
    this.raw.on('close', () => {
      this.runCleanups()
      if (!this.ended) onClientGone()
    })
  }

  get closed(): boolean {
    // An HTTP/2 compatibility response has no `destroyed`; its stream does.
    const h2 = (this.raw as { stream?: { destroyed: boolean } }).stream
    return this.raw.destroyed || this.raw.writableEnded || h2?.destroyed === true
  }

  /** Runs `fn` once when the stream ends or the client leaves (timers, listeners). */
  protected onClose(fn: () => void): void {
    this.cleanups.push(fn)
  }

  protected async send(chunk: string | Uint8Array): Promise<void> {
    if (this.closed) return
    if (this.raw.write(chunk)) return
    // Past the socket's 16 KB high-water mark at once with any large frame (an output event): waiting for 'drain'
    // there sent each frame of a commit (or a replay's page) in a write of its own. The frames written before
    // the socket flushes (Node corks a response for the tick) go in one write while less than `unsentBytesBound`
    // waits; only a client slower than that makes its stream wait.
    const unsent = (this.raw as { writableLength?: number }).writableLength
    if (typeof unsent === 'number' && unsent < unsentBytesBound) return
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

  end(): void {
    this.ended = true
    this.runCleanups()
    if (!this.closed) this.raw.end()
  }

  private runCleanups(): void {
    for (const fn of this.cleanups.splice(0)) fn()
  }
}
