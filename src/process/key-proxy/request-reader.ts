import {
  type BodyFraming,
  FramingError,
  headEnd,
  maxHeadBytes,
  parseRequestHead,
  type RequestHead,
} from './http-framing.js'
import { RequestBody } from './request-body.js'

/** The largest model request body taken (a longer chunked one is refused midway: 413). */
export const maxBodyBytes = 64 * 1024 * 1024

/** What the next bytes of an agent's connection are. */
export type ReadStep =
  /** More bytes are needed (`used`: empty lines before a request line, skipped). */
  | { kind: 'more'; used: number }
  /** A request head, `used` bytes: its body (`expectBody`) or the next head comes next. */
  | { kind: 'head'; used: number; head: RequestHead }
  /** `used` bytes of the current body; `done`: it ended with them. */
  | { kind: 'body'; used: number; done: boolean }
  /** Bytes after a request that asked to close the connection: dropped unread (RFC 9112 9.6). */
  | { kind: 'after-close'; used: number }

/**
 * Where each request on an agent's connection begins and ends (proxy-connection.ts acts on each step): empty lines
 * before a request line, the head (strictly: http-framing.ts), then its body. Nothing is read after a request that
 * asked for the connection to close, as llhttp (an upstream) reads nothing more: those bytes are dropped, not
 * answered (RFC 9112 9.6: the server must not process them). Malformed bytes throw (FramingError).
 */
export class RequestReader {
  private body: RequestBody | undefined
  /** The last request asked for the connection to close (once its body is through, nothing may follow). */
  private closing = false

  /** Whether a body is being read (a head was read and its body has not ended). */
  get inBody(): boolean {
    return this.body !== undefined
  }

  /** The body that follows the head just read (none: the next head follows). */
  expectBody(framing: BodyFraming): void {
    this.body = framing.kind === 'length' || framing.kind === 'chunked' ? new RequestBody(framing) : undefined
  }

  /** What the bytes at the start of `buf` (not empty) are. */
  next(buf: Buffer): ReadStep {
    if (this.body) {
      const { used, done } = this.body.take(buf)
      if (this.body.chunkedBytes > maxBodyBytes)
        throw new FramingError(413, `a model request is at most ${maxBodyBytes} bytes`)
      if (done) this.body = undefined
      return { kind: 'body', used, done }
    }
    if (this.closing) return { kind: 'after-close', used: buf.length }
    // empty lines before a request line are ignored (RFC 9112 2.2: some clients end a body with one)
    let start = 0
    while (start < buf.length && (buf[start] === 10 || (buf[start] === 13 && buf[start + 1] === 10)))
      start += buf[start] === 13 ? 2 : 1
    if (start === buf.length || (start === buf.length - 1 && buf[start] === 13))
      return { kind: 'more', used: start }
    if (buf[start] === 13) throw new FramingError(400, 'malformed request line')
    const end = headEnd(buf, start)
    if (end < 0 ? buf.length - start > maxHeadBytes : end - start > maxHeadBytes + 4)
      throw new FramingError(431, 'the request head is too large')
    if (end < 0) return { kind: 'more', used: start }
    const head = parseRequestHead(buf.toString('latin1', start, end - 4))
    this.closing = head.closes
    return { kind: 'head', used: end, head }
  }
}
