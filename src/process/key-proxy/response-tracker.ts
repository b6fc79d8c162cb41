import { ChunkedBody } from './chunked-body.js'
import { type BodyFraming, headEnd, parseResponseHead } from './http-framing.js'

/** What the tracker tells its connection. */
export interface TrackerEvents {
  /** Every answer to the requests sent so far has passed (the connection may answer on its own now). */
  idle(): void
  /** The final answer to an upgrade request came: `upgraded` (101) or not. */
  upgradeDecided(upgraded: boolean): void
}

/** The longest response head followed; a longer one makes the tracker give up (the bytes still pass). */
const maxHeadBytes = 256 * 1024

/**
 * Follows the upstream's answers as their bytes pass to the agent unchanged (proxy-connection.ts), one per request
 * sent, in order: it knows when every answer is through (`idle`), which a refusal or a switch of upstream waits
 * for, and whether an upgrade was taken. An answer it cannot follow (malformed, or delimited by the upstream's
 * close) makes it never idle again: the connection then ends when the upstream's does.
 */
export class ResponseTracker {
  private readonly expected: Array<{ head: boolean; upgrade: boolean }> = []
  private state: 'head' | 'length' | 'chunked' | 'lost' | 'tunnel' = 'head'
  private carry: Buffer | undefined
  private left = 0
  private chunked: ChunkedBody | undefined
  /** Bytes of the oldest outstanding answer seen (its head started). */
  started = false
  /** An answer said the upstream closes the connection after it. */
  closing = false

  constructor(private readonly events: TrackerEvents) {}

  /** A request was sent: its answer comes after the ones before it. */
  expect(request: { head: boolean; upgrade: boolean }): void {
    this.expected.push(request)
  }

  /** Answers not yet complete (the requests sent that wait for theirs). */
  get outstanding(): number {
    return this.expected.length
  }

  get idle(): boolean {
    return this.expected.length === 0 && this.state === 'head' && this.carry === undefined
  }

  /** The next bytes from the upstream (already passed on). */
  scan(chunk: Buffer): void {
    let buf = chunk
    let i = 0
    while (i < buf.length) {
      if (this.state === 'lost' || this.state === 'tunnel') return
      if (this.state === 'length') {
        const take = Math.min(this.left, buf.length - i)
        i += take
        this.left -= take
        if (this.left === 0) this.answered()
      } else if (this.state === 'chunked') {
        try {
          const { used, done } = (this.chunked as ChunkedBody).scan(buf, i)
          i += used
          if (done) this.answered()
        } catch {
          this.state = 'lost'
        }
      } else {
        const request = this.expected[0]
        // nothing comes after an answer that closes the connection (llhttp refuses it), nor unasked
        if (!request || this.closing) {
          this.state = 'lost'
          return
        }
        this.started = true
        if (this.carry) {
          buf = Buffer.concat([this.carry, buf.subarray(i)])
          i = 0
          this.carry = undefined
        }
        const end = headEnd(buf, i)
        if (end < 0) {
          if (buf.length - i > maxHeadBytes) this.state = 'lost'
          else this.carry = buf.subarray(i)
          return
        }
        let answer: { status: number; body: BodyFraming; closes: boolean }
        try {
          answer = parseResponseHead(buf.toString('latin1', i, end - 4), request.head)
        } catch {
          this.state = 'lost'
          return
        }
        i = end
        if (answer.closes) this.closing = true
        // 1xx but 101 (100 Continue, 103 Early Hints): the final answer follows
        if (answer.status < 200 && answer.status !== 101) continue
        if (answer.status === 101 && !request.upgrade) {
          // no more HTTP after a 101 (llhttp reads none): nothing to follow
          this.state = 'lost'
          return
        }
        if (request.upgrade) {
          const upgraded = answer.status === 101
          if (upgraded) this.state = 'tunnel'
          this.events.upgradeDecided(upgraded)
          if (upgraded) return
        }
        this.follow(answer.body)
      }
    }
  }

  private follow(body: BodyFraming): void {
    if (body.kind === 'none') this.answered()
    else if (body.kind === 'length') {
      this.state = 'length'
      this.left = body.bytes
    } else if (body.kind === 'chunked') {
      this.state = 'chunked'
      this.chunked = new ChunkedBody()
    } else this.state = 'lost'
  }

  private answered(): void {
    this.expected.shift()
    this.state = 'head'
    this.chunked = undefined
    this.started = false
    if (this.expected.length === 0) this.events.idle()
  }
}
