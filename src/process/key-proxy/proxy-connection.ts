import type { Socket } from 'node:net'
import { type BodyFraming, FramingError, type RequestHead } from './http-framing.js'
import { answerText, type Forward, type Refusal, refusal } from './proxy-decision.js'
import { maxBodyBytes, type ReadStep, RequestReader } from './request-reader.js'
import { UpstreamLeg } from './upstream-leg.js'
import type { UpstreamPool } from './upstream-pool.js'

/** An unpaired agent connection idle this long is closed (agents' pools close theirs first: reqwest 90 s). */
const idleMs = 120_000

/** How long a request head may take to come whole once it began (node:http's headersTimeout): else 408. */
export const headTimeoutMs = 60_000

/**
 * One agent connection, paired with one upstream connection (upstream-leg.ts: pooled or opened with its first
 * request): each request's head is read, its token checked and swapped for the key (`decide`), and the head and
 * body go upstream as bytes; the upstream's answers come back as bytes, unchanged and unbuffered (a
 * ResponseTracker only follows where each ends). An agent that ends cleanly leaves its upstream connection to
 * the pool. The upstream closing its connection closes the agent's, as it would have talking to the upstream
 * directly: the agent's client sees its own connection end and retries as it would there. A refusal is answered
 * once every earlier answer is through; a request for another upstream (another provider, or an upgrade that
 * needs a CONNECT tunnel) waits for that too, and the connection pairs anew.
 */
export class ProxyConnection {
  private pending: Buffer | undefined
  private state: 'head' | 'body' | 'tunnel' | 'done' = 'head'
  private readonly reader = new RequestReader()
  private headTimer: NodeJS.Timeout | undefined
  private forwarding = false
  private afterBody: (() => void) | undefined
  /** Waiting for every answer so far (or an upgrade's) before reading on. */
  private blocked = false
  private onIdle: (() => void) | undefined
  private upstreamFull = false
  private agentEnded = false
  private up: UpstreamLeg | undefined
  /** While a read pass runs: the writes it holds back, released when it ends (see `pump`). */
  private pass: { leg: UpstreamLeg | undefined; release: Array<() => void> } | undefined

  constructor(
    private readonly agent: Socket,
    private readonly decide: (head: RequestHead) => Forward | Refusal,
    private readonly pool: UpstreamPool,
    private readonly headTimeout = headTimeoutMs,
  ) {
    agent.setNoDelay(true)
    agent.setTimeout(idleMs, () => {
      if (!this.up) agent.destroy()
    })
    agent.on('data', (chunk: Buffer) => this.received(chunk))
    agent.on('drain', () => this.up?.resume())
    agent.on('end', () => {
      this.agentEnded = true
      // an agent that ended cleanly leaves its upstream connection to the next one (codex opens one per call)
      if (this.release()) this.closeEnded()
      else if (this.up) this.up.end()
      else if (!this.blocked) this.closeEnded()
    })
    agent.on('error', () => {})
    agent.on('close', () => {
      clearTimeout(this.headTimer)
      this.dropUpstream()
    })
  }

  /**
   * Closes the connection of an agent that ended its side, once this side has nothing more to say. With every
   * answer byte already handed to the kernel (nothing in Node's buffer), closing the socket sends them and then
   * the FIN as `end()` would, without its separate shutdown(2) and the stream's finish steps (once per model call:
   * codex ends its connection after each answer). A close with unread bytes would reset, but the agent's end was
   * read, so none are left.
   */
  private closeEnded(): void {
    if (this.agent.writableLength === 0) this.agent.destroy()
    else this.agent.end()
  }

  /** Ends this connection and its upstream's at once. */
  destroy(): void {
    this.agent.destroy()
    this.dropUpstream()
  }

  private received(chunk: Buffer): void {
    if (this.state === 'done') return
    if (this.state === 'tunnel' && !this.pending) {
      this.send(chunk)
      return
    }
    this.pending = this.pending?.length ? Buffer.concat([this.pending, chunk]) : chunk
    this.pump()
  }

  /**
   * Reads what has come as far as it can. What it sends upstream goes in one write: each leg it sends to is held
   * (corked) from its first send until the pass ends, a leg paired during the pass too (a new agent connection's
   * first request: its head and the body bytes that came with it, one write instead of two).
   */
  private pump(): void {
    const pass: { leg: UpstreamLeg | undefined; release: Array<() => void> } = { leg: undefined, release: [] }
    this.pass = pass
    try {
      this.read()
    } finally {
      this.pass = undefined
      for (const release of pass.release) release()
    }
  }

  private read(): void {
    while (!this.blocked && this.pending && this.pending.length > 0) {
      const buf: Buffer = this.pending
      if (this.state === 'done') {
        this.pending = undefined
        break
      }
      if (this.state === 'tunnel') {
        this.pending = undefined
        this.send(buf)
        break
      }
      let step: ReadStep
      try {
        step = this.reader.next(buf)
      } catch (err) {
        this.fail(err)
        return
      }
      this.pending = step.used < buf.length ? buf.subarray(step.used) : undefined
      if (step.kind === 'more') {
        if (step.used === 0) break
      } else if (step.kind === 'after-close') break
      else if (step.kind === 'head') this.request(step.head)
      else {
        if (this.forwarding) this.send(step.used < buf.length ? buf.subarray(0, step.used) : buf)
        if (step.done) {
          this.state = 'head'
          const after = this.afterBody
          this.afterBody = undefined
          after?.()
        }
      }
    }
    this.timeHead()
    this.flow()
  }

  /** A request head that began runs against the clock (a slow one holds a connection and its buffer). */
  private timeHead(): void {
    const waiting = this.state === 'head' && !this.blocked && this.pending !== undefined
    if (!waiting) {
      clearTimeout(this.headTimer)
      this.headTimer = undefined
    } else
      this.headTimer ??= setTimeout(() => {
        this.headTimer = undefined
        this.fail(new FramingError(408, 'the request head did not come whole in time'))
      }, this.headTimeout)
  }

  private request(head: RequestHead): void {
    // HTTP/1.0 is never pooled, keep-alive or not
    const close = head.minor === 0 || head.closes
    if (head.method === 'CONNECT') {
      this.refuse(head, refusal(405, 'refused', 'CONNECT is not served'), true)
      return
    }
    const decision = this.decide(head)
    if ('status' in decision) {
      this.refuse(head, decision, close || head.upgrade)
      return
    }
    if (head.body.kind === 'length' && head.body.bytes > maxBodyBytes) {
      const tooLarge = refusal(413, 'body_too_large', `a model request is at most ${maxBodyBytes} bytes`)
      this.refuse(head, tooLarge, close)
      return
    }
    if (this.up && this.up.pairing !== decision.pairing) {
      this.whenIdle(() => {
        if (!this.release()) this.dropUpstream()
        this.forward(head, decision, close)
      })
      return
    }
    this.forward(head, decision, close)
  }

  private forward(head: RequestHead, decision: Forward, close: boolean): void {
    const up = this.up ?? this.pair(decision)
    if (close) up.closing = true
    up.tracker.expect({ head: head.method === 'HEAD', upgrade: head.upgrade })
    this.send(Buffer.from(decision.head, 'latin1'))
    // an upgrade's answer decides how the bytes after it are read: as requests, or passed as they are
    const after = head.upgrade
      ? () => this.block()
      : close
        ? () => this.whenIdle(() => this.endAfterAnswer())
        : undefined
    this.body(head.body, true, after)
  }

  /**
   * The answer to a request that asked to close is through: the connection ends here, whatever the upstream
   * does with its own (RFC 9112 9.6), and nothing the agent sent after that request is read.
   */
  private endAfterAnswer(): void {
    this.state = 'done'
    this.pending = undefined
    this.dropUpstream()
    this.agent.end()
  }

  /**
   * Its body read and dropped, then the refusal answered once every earlier answer is through; a request that
   * waits for `100 Continue` before it sends its body is answered without it, and the connection ends.
   */
  private refuse(head: RequestHead, refused: Refusal, close: boolean): void {
    const waits = /100-continue/i.test(head.first.expect ?? '')
    const answer = () => this.answer(refused.status, refused.body, close || waits)
    this.body(waits ? { kind: 'none' } : head.body, false, () => this.whenIdle(answer))
  }

  /** Takes a request's body next (`forwarding` it or not), then runs `after`. */
  private body(framing: BodyFraming, forwarding: boolean, after?: () => void): void {
    this.forwarding = forwarding
    if (framing.kind === 'none' || framing.kind === 'close') {
      after?.()
      return
    }
    this.state = 'body'
    this.afterBody = after
    this.reader.expectBody(framing)
  }

  /** A request that cannot be read: answered once every earlier answer is through, and the connection ends. */
  private fail(err: unknown): void {
    const status = err instanceof FramingError ? err.status : 400
    const message = err instanceof Error ? err.message : 'unreadable request'
    this.pending = undefined
    clearTimeout(this.headTimer)
    // part of a body went upstream: that request cannot be answered any more
    if (this.reader.inBody && this.forwarding) {
      this.destroy()
      return
    }
    this.state = 'done'
    this.whenIdle(() => this.answer(status, refusal(status, 'invalid_request', message).body, true))
  }

  private answer(status: number, body: object, close: boolean): void {
    this.agent.write(answerText(status, body, close))
    if (close || (this.agentEnded && !this.up)) {
      this.state = 'done'
      this.agent.end()
    }
  }

  private whenIdle(then: () => void): void {
    if (!this.up || this.up.tracker.idle) {
      then()
      return
    }
    this.block(then)
  }

  /** Stops reading until the upstream's answers say so (`then`: once they all passed). */
  private block(then?: () => void): void {
    this.blocked = true
    this.onIdle = then
    this.flow()
  }

  private unblock(): void {
    this.blocked = false
    const then = this.onIdle
    this.onIdle = undefined
    then?.()
    this.pump()
  }

  private flow(): void {
    if (this.blocked || this.upstreamFull) this.agent.pause()
    else this.agent.resume()
  }

  private pair(decision: Forward): UpstreamLeg {
    const up: UpstreamLeg = new UpstreamLeg(decision.pairing, decision.open, this.pool, {
      answer: (chunk) => this.agent.write(chunk),
      full: (full) => {
        this.upstreamFull = full
        this.flow()
      },
      idle: () => {
        if (this.blocked && this.onIdle) this.unblock()
      },
      upgradeDecided: (upgraded) => {
        if (upgraded) this.state = 'tunnel'
        if (this.blocked && !this.onIdle) this.unblock()
      },
      // the upstream ended its connection: so does the agent's (as it would have seen it directly)
      closed: (hadError) => {
        if (this.up === up) this.up = undefined
        this.state = 'done'
        if (hadError) this.agent.destroy()
        else this.agent.end()
      },
      // nothing reached the upstream: the agent hears why, and the connection ends
      failed: (err) => {
        if (this.up === up) this.up = undefined
        this.answer(502, refusal(502, 'bad_gateway', `upstream: ${err.message}`).body, true)
      },
    })
    this.up = up
    return up
  }

  /** Gives an idle upstream connection back to the pool: every answer complete, no request begun after them. */
  private release(): boolean {
    if (!this.up || this.state !== 'head' || this.pending || this.blocked || !this.up.release()) return false
    this.up = undefined
    this.upstreamFull = false
    return true
  }

  private send(bytes: Buffer): void {
    const up = this.up
    if (!up) return
    const pass = this.pass
    if (pass && pass.leg !== up) {
      pass.leg = up
      const release = up.hold()
      if (release) pass.release.push(release)
    }
    up.send(bytes)
  }

  private dropUpstream(): void {
    const up = this.up
    this.up = undefined
    this.upstreamFull = false
    up?.destroy()
  }
}
