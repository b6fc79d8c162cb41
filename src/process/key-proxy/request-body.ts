import { ChunkedBody } from './chunked-body.js'
import type { BodyFraming } from './http-framing.js'

/**
 * One request body as its bytes come in (Content-Length or chunked): how many of a buffer's bytes belong to it,
 * and when it has ended. A malformed chunked body throws (FramingError).
 */
export class RequestBody {
  private left: number
  private readonly chunked: ChunkedBody | undefined

  constructor(framing: BodyFraming & { kind: 'length' | 'chunked' }) {
    this.left = framing.kind === 'length' ? framing.bytes : 0
    this.chunked = framing.kind === 'chunked' ? new ChunkedBody() : undefined
  }

  /** Data bytes so far of a chunked body (its framing not counted); a length body is checked before it starts. */
  get chunkedBytes(): number {
    return this.chunked?.dataBytes ?? 0
  }

  /** How many bytes at the start of `buf` belong to this body, and whether it ended with them. */
  take(buf: Buffer): { used: number; done: boolean } {
    if (this.chunked) return this.chunked.scan(buf, 0)
    const used = Math.min(this.left, buf.length)
    this.left -= used
    return { used, done: this.left === 0 }
  }
}
