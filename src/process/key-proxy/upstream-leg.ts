import type { Socket } from 'node:net'
import { ResponseTracker, type TrackerEvents } from './response-tracker.js'
import type { UpstreamPool } from './upstream-pool.js'
import { type UpstreamHolder, UpstreamSocket } from './upstream-socket.js'

/** What an upstream leg tells its agent connection (never after it was released or destroyed). */
export interface LegEvents extends TrackerEvents {
  /** Answer bytes for the agent; false: the agent's socket is full (the leg stops reading until `resume`). */
  answer(chunk: Buffer): boolean
  /** Whether the upstream side takes no more for now (the agent's reading waits). */
  full(full: boolean): void
  /** The upstream ended the connection (`hadError`: reset): so does the agent's. */
  closed(hadError: boolean): void
  /** The connection could not be opened; nothing reached the upstream. */
  failed(err: Error): void
}

/**
 * How soon after a pooled connection was taken its close (a FIN) counts as the idle-close race (the FIN already on
 * its way): later, the upstream had the request, and it is not sent again. A reset counts however late it comes.
 */
const staleWindowMs = 1000

/** Bytes an agent may send ahead while its upstream connection opens (a few reads' worth). */
const outboxBytes = 256 * 1024

/**
 * The upstream side of one agent connection (proxy-connection.ts): one connection to the upstream, taken from the
 * pool or opened, that the agent's request bytes are written to and whose answer bytes go back to the agent as
 * they come, a ResponseTracker following where each ends. The first request on a pooled connection is held
 * until its answer starts: the upstream may have closed that connection just as it was taken (nothing of the
 * request reached it), and it goes again, once, on a new connection. So it does when the upstream reset that
 * connection before any answer, however late: a reset is how a connection closed with the request unread ends
 * (a busy upstream's idle timer fired before it read it; a middlebox dropped the idle connection), and a CPU-starved
 * proxy or upstream may see that later than any window.
 */
export class UpstreamLeg {
  readonly tracker: ResponseTracker
  /** The agent asked the upstream to close after an answer: not pooled. */
  closing = false
  private socket: Socket | undefined
  /** What waits for the connection to be open. */
  private outbox: Buffer[] = []
  private held: Buffer[] | undefined
  private takenAt = 0
  private ended = false
  private full = false
  /** Holds (`hold`) not yet released: the socket is corked; whether it is full is decided at the release. */
  private holding = 0
  /** Released or destroyed: no more events. */
  private gone = false
  private detach: (() => void) | undefined

  constructor(
    readonly pairing: string,
    private readonly open: () => Promise<Socket>,
    private readonly pool: UpstreamPool,
    private readonly events: LegEvents,
  ) {
    this.tracker = new ResponseTracker({
      idle: () => {
        if (!this.gone) events.idle()
      },
      upgradeDecided: (upgraded) => {
        if (!this.gone) events.upgradeDecided(upgraded)
      },
    })
    const pooled = pool.take(pairing)
    if (pooled) {
      this.held = []
      this.takenAt = performance.now()
      this.attach(pooled)
    } else this.connect()
  }

  send(bytes: Buffer): void {
    if (this.gone) return
    if (!this.socket) {
      this.outbox.push(bytes)
      // the agent waits while the connection opens, as it would for a full socket
      if (!this.full && this.outbox.reduce((n, b) => n + b.length, 0) > outboxBytes) this.setFull(true)
      return
    }
    this.held?.push(bytes)
    // held (corked): whether bytes wait here is known at the release
    if (!this.socket.write(bytes) && this.holding === 0) this.setFull(true)
  }

  /**
   * Holds back what is sent from now on until the returned function is called (one write for them all); undefined
   * while the connection opens (the outbox goes in one write once it is open).
   */
  hold(): (() => void) | undefined {
    const socket = this.socket
    if (!socket) return undefined
    socket.cork()
    this.holding++
    return () => {
      this.holding--
      socket.uncork()
      // a corked write says false for all it holds: full only if bytes still wait once they went out
      if (this.socket === socket && this.holding === 0 && !this.full && !this.gone)
        if (socket.writableLength >= socket.writableHighWaterMark) this.setFull(true)
    }
  }

  /** The agent's socket drained. */
  resume(): void {
    this.socket?.resume()
  }

  /** The agent ended its side: so does this one (once the connection is open). */
  end(): void {
    this.ended = true
    this.socket?.end()
  }

  destroy(): void {
    this.gone = true
    this.detach?.()
    this.socket?.destroy()
  }

  /**
   * Gives the connection to the pool if it is idle (open, every answer complete, nothing held, no close asked for
   * either way); false if it is not.
   */
  release(): boolean {
    const socket = this.socket
    if (this.gone || !socket || this.ended || this.closing || this.full || this.held?.length) return false
    if (this.tracker.closing || !this.tracker.idle) return false
    this.gone = true
    this.detach?.()
    this.pool.give(this.pairing, socket)
    return true
  }

  private setFull(full: boolean): void {
    this.full = full
    this.events.full(full)
  }

  private connect(): void {
    this.open().then(
      (socket) => {
        if (this.gone) socket.destroy()
        else this.attach(socket)
      },
      (err: Error) => {
        if (this.gone) return
        this.gone = true
        this.events.failed(err)
      },
    )
  }

  private attach(socket: Socket): void {
    this.socket = socket
    const up = UpstreamSocket.of(socket)
    const holder: UpstreamHolder = {
      data: (chunk) => {
        this.held = undefined
        if (!this.events.answer(chunk)) socket.pause()
        this.tracker.scan(chunk)
      },
      drain: () => this.setFull(false),
      ended: () => {},
      closed: (hadError) => {
        if (this.held && !this.ended && (hadError || performance.now() - this.takenAt < staleWindowMs)) {
          // a pooled connection the upstream had closed as it was taken, or reset unanswered: its request goes
          // again on a new one, unless the agent has gone meanwhile (its close may be among the events of this
          // same turn); not when the agent had ended its side (the upstream's close may answer that)
          this.outbox = this.held
          this.held = undefined
          this.socket = undefined
          setImmediate(() => {
            if (!this.gone) this.connect()
          })
          return
        }
        this.gone = true
        this.events.closed(hadError)
      },
    }
    up.hold(holder)
    // once given to the pool, the connection is the pool's: a later destroy of this leg does not touch it
    this.detach = () => up.letGo(holder)
    socket.resume()
    const outbox = this.outbox
    this.outbox = []
    if (this.full) this.setFull(false)
    if (outbox.length > 0) {
      const release = this.hold()
      for (const b of outbox) this.send(b)
      release?.()
    }
    if (this.ended) socket.end()
  }
}
