import type { GatewayContext } from '../../core/context.js'
import {
  type BodyClockLimits,
  checkTransfer,
  stallMessage,
  type TransferLimit,
  unseenTransfer,
} from '../body-clock.js'

/** The request body's limits, for the bytes within one frame. */
export const frameLimits = (ctx: GatewayContext): BodyClockLimits => ({
  idleMs: ctx.config.BODY_IDLE_SECONDS * 1000,
  minBytesPerSecond: ctx.config.BODY_MIN_BYTES_PER_SECOND,
})

/** Why a frame was cut: its message (for the error frame) and the setting that cut it. */
export interface FrameStall {
  message: string
  limit: TransferLimit
}

/**
 * The clock of one frame in flight on a long-lived /agent/stream or /agent/ws stream: the request body's
 * limits (BODY_IDLE_SECONDS, BODY_MIN_BYTES_PER_SECOND, as in body-clock.ts) applied to the bytes *within* a
 * frame. It runs only while a frame is partly received: a stream silent between frames is legitimate and is
 * never cut. It stalls when no byte of the frame came for `idleMs`, or when the frame falls behind
 * `minBytesPerSecond` after its first `idleMs`; while the server itself handles frames (`pause`) the client
 * is not timed.
 */
export class FrameClock {
  private running = false
  /** The frame in flight so far. */
  private readonly seen = unseenTransfer()
  private pausedAt: number | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly limits: BodyClockLimits,
    private readonly onStall: (stall: FrameStall) => void,
  ) {}

  /**
   * After bytes were read: whether a frame ended in them, and how many bytes of the next, unfinished frame
   * are held now (0: none; the clock stops).
   */
  read(frameEnded: boolean, partialBytes: number): void {
    if (partialBytes === 0) {
      this.stop()
      return
    }
    const now = performance.now()
    if (!this.running || frameEnded) {
      this.running = true
      this.seen.startedAt = now
    }
    this.seen.received = partialBytes
    this.seen.lastByteAt = now
    if (this.pausedAt === undefined && this.timer === undefined) this.arm(this.limits.idleMs)
  }

  /** The server handles frames (or waits on its own writes): this time is not the client's. */
  pause(): void {
    if (this.pausedAt !== undefined) return
    this.pausedAt = performance.now()
    this.disarm()
  }

  resume(): void {
    if (this.pausedAt === undefined) return
    const paused = performance.now() - this.pausedAt
    this.pausedAt = undefined
    this.seen.startedAt += paused
    this.seen.lastByteAt += paused
    if (this.running) this.arm(0)
  }

  stop(): void {
    this.running = false
    this.disarm()
  }

  private arm(ms: number): void {
    this.disarm()
    this.timer = setTimeout(this.check, Math.ceil(ms))
  }

  private disarm(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private readonly check = () => {
    this.timer = undefined
    if (!this.running || this.pausedAt !== undefined) return
    const checked = checkTransfer(this.seen, this.limits, performance.now())
    if (!checked.stalled) return this.arm(checked.dueInMs)
    this.running = false
    this.onStall({ message: stallMessage('frame', checked.limit, this.limits), limit: checked.limit })
  }
}
