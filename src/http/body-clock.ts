import type { ServerHttp2Stream } from 'node:http2'
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../protocol/errors.js'
import { stopClientAfterEnd } from './h2-stop-client.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route reads its body itself as a long-lived stream (/agent/stream): the body clock leaves it alone. */
    streamingBody?: boolean
  }
}

export interface BodyClockLimits {
  /** A body with no byte for this long is cut (BODY_IDLE_SECONDS). */
  idleMs: number
  /** After the first `idleMs`, each this many bytes buy one more second (BODY_MIN_BYTES_PER_SECOND); 0: off. */
  minBytesPerSecond: number
}

/** What a clock has seen of a transfer so far (performance.now() times); the clock updates it as bytes come. */
export interface TransferSeen {
  startedAt: number
  lastByteAt: number
  received: number
}

/** A transfer nothing of which was seen yet. */
export const unseenTransfer = (): TransferSeen => ({ startedAt: 0, lastByteAt: 0, received: 0 })

/** The setting a stalled transfer broke. */
export type TransferLimit = 'BODY_IDLE_SECONDS' | 'BODY_MIN_BYTES_PER_SECOND'

/** Which limit a transfer broke (the idle gap first when both are due), or when it will break one. */
export type TransferCheck = { stalled: false; dueInMs: number } | { stalled: true; limit: TransferLimit }

/** The body clock's rule, shared with seed 004's frame clock (compat/agent-stream-frame-clock.ts). */
export function checkTransfer(seen: TransferSeen, limits: BodyClockLimits, now: number): TransferCheck {
  const idleDue = seen.lastByteAt + limits.idleMs
  const rateDue =
    limits.minBytesPerSecond > 0
      ? seen.startedAt + limits.idleMs + (seen.received / limits.minBytesPerSecond) * 1000
      : Number.POSITIVE_INFINITY
  const due = Math.min(idleDue, rateDue)
  if (now < due) return { stalled: false, dueInMs: due - now }
  return { stalled: true, limit: now >= idleDue ? 'BODY_IDLE_SECONDS' : 'BODY_MIN_BYTES_PER_SECOND' }
}

/** What a client is told when its transfer (`what`: "request body", "frame") broke `limit`. */
export function stallMessage(what: string, limit: TransferLimit, limits: BodyClockLimits): string {
  return limit === 'BODY_IDLE_SECONDS'
    ? `no byte of the ${what} arrived for ${limits.idleMs / 1000} s (BODY_IDLE_SECONDS)`
    : `the ${what} arrived slower than ${limits.minBytesPerSecond} bytes per second (BODY_MIN_BYTES_PER_SECOND)`
}

/** The request as a Fastify parser gets it: Node's IncomingMessage or Http2ServerRequest. */
type RawBody = FastifyRequest['raw'] & { stream?: ServerHttp2Stream }

/**
 * The request body as the route's parser reads it, on a clock (Node's own `requestTimeout` allows 300 s for the
 * whole request, however slowly it comes). The clock starts when the parser starts reading (a body nobody reads,
 * such as a long `?wait=true` request's empty one, is not timed) and stops at the body's end. It stalls when no
 * byte came for `idleMs`, or when the body falls behind `minBytesPerSecond` after its first `idleMs`: then the
 * parser gets a 408 `request_timeout` and what else comes is read and dropped until the connection closes.
 */
class TimedBody extends Readable {
  private started = false
  private stalled = false
  private ended = false
  private readonly seen = unseenTransfer()
  private timer: NodeJS.Timeout | undefined

  constructor(
    /** The body as it comes: the request itself unless an earlier hook replaced it. */
    private readonly raw: Readable,
    private readonly limits: BodyClockLimits,
    private readonly onStall: (err: AppError) => void,
  ) {
    super()
  }

  override _read(): void {
    if (this.started) {
      this.raw.resume()
      return
    }
    this.started = true
    this.seen.startedAt = this.seen.lastByteAt = performance.now()
    this.raw.on('data', this.onData)
    this.raw.once('end', this.onEnd)
    this.raw.once('error', this.onGone)
    this.raw.once('close', this.onGone)
    this.arm(this.limits.idleMs)
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    clearTimeout(this.timer)
    callback(err)
  }

  private readonly onData = (chunk: Buffer) => {
    if (this.stalled) return
    this.seen.received += chunk.length
    this.seen.lastByteAt = performance.now()
    if (!this.push(chunk)) this.raw.pause()
  }

  private readonly onEnd = () => {
    clearTimeout(this.timer)
    this.ended = true
    if (!this.stalled) this.push(null)
  }

  /** The client went away (or its stream failed) before the body ended. */
  private readonly onGone = (err?: Error) => {
    clearTimeout(this.timer)
    if (this.stalled || this.ended) return
    // a parser that gave up already (413) listens no more: the error would be nobody's (an uncaught exception)
    this.destroy(this.listenerCount('error') > 0 ? (err ?? new Error('the request was aborted')) : undefined)
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.check, Math.ceil(ms))
  }

  private readonly check = () => {
    const checked = checkTransfer(this.seen, this.limits, performance.now())
    if (!checked.stalled) return this.arm(checked.dueInMs)
    this.stalled = true
    this.raw.resume()
    const { limit } = checked
    const err = new AppError('request_timeout', stallMessage('request body', limit, this.limits), { limit })
    this.onStall(err)
    // a parser that gave up already (413) listens no more: the error would be nobody's
    this.destroy(this.listenerCount('error') > 0 ? err : undefined)
  }
}

/** Whether the request may carry a body (HTTP/1.1: a length or chunked; HTTP/2: no END_STREAM on its head). */
function mayHaveBody(raw: RawBody): boolean {
  if (raw.stream) return !raw.stream.endAfterHeaders
  const length = raw.headers['content-length']
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Times every request body a route's parser reads (BODY_IDLE_SECONDS, BODY_MIN_BYTES_PER_SECOND). A stalled
 * body is answered 408 `request_timeout` in the route's error shape and `onStall` is told; then the HTTP/1.1
 * connection is closed (`Connection: close`), an HTTP/2 stream reset with NO_ERROR after the answer's END_STREAM
 * (RFC 9113 section 8.1: stop sending), its connection's other streams untouched.
 */
export function registerBodyClock(app: FastifyInstance, limits: BodyClockLimits, onStall: () => void): void {
  app.addHook('preParsing', async (request, reply, payload) => {
    const raw = request.raw as RawBody
    if (request.routeOptions.config?.streamingBody || !mayHaveBody(raw)) return payload
    return new TimedBody(payload, limits, () => {
      // HTTP/1.1: Fastify answers a body that failed with `Connection: close`
      const stream = raw.stream
      // an HTTP/2 client that goes on sending is stopped once the answer ended (END_STREAM): answered already
      // (413 past BODY_LIMIT_BYTES), now; else after the 408 being written
      if (stream) stopClientAfterEnd(stream)
      if (!reply.sent) onStall()
    })
  })
}
