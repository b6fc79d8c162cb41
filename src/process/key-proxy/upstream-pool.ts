import type { Socket } from 'node:net'
import { type UpstreamHolder, UpstreamSocket } from './upstream-socket.js'

/** How long an idle upstream connection is kept for the next agent connection. */
const idleMs = 60_000
/** Idle connections kept per upstream route at most. */
const maxIdle = 16

/** One idle connection in the pool: what it hears while it waits is a reason to drop it. */
class Idle implements UpstreamHolder {
  constructor(
    readonly up: UpstreamSocket,
    readonly since: number,
    private readonly drop: (idle: Idle) => void,
  ) {}
  data(): void {
    this.drop(this)
  }
  drain(): void {}
  ended(): void {
    this.drop(this)
  }
  closed(): void {
    this.drop(this)
  }
  expire(): void {
    this.drop(this)
  }
}

/**
 * Upstream connections an agent connection left idle (it ended cleanly after complete answers), for the next
 * agent connection to the same upstream: agents that open a connection per model call (codex's app-server does)
 * do not pay a TCP and TLS handshake to the provider each time. One the upstream closes or writes to while idle
 * is dropped; one it closes just as it is taken again is the caller's to handle (proxy-connection.ts sends that
 * first request again, once, on a new connection). A connection keeps one set of listeners for its life
 * (upstream-socket.ts), and one timer for the whole pool drops those idle `idleMs` (none is armed per hand-over).
 */
export class UpstreamPool {
  private readonly idle = new Map<string, Idle[]>()
  private sweepTimer: NodeJS.Timeout | undefined

  /** The most recently idle connection for `route`, if any (the pool no longer hears its events). */
  take(route: string): Socket | undefined {
    const entry = this.idle.get(route)?.pop()
    if (!entry) return undefined
    entry.up.letGo(entry)
    return entry.up.socket
  }

  give(route: string, socket: Socket): void {
    const list = this.idle.get(route) ?? []
    if (list.length >= maxIdle || socket.destroyed) {
      socket.destroy()
      return
    }
    this.idle.set(route, list)
    const up = UpstreamSocket.of(socket)
    const entry = new Idle(up, performance.now(), (dropped) => {
      const at = list.indexOf(dropped)
      if (at >= 0) list.splice(at, 1)
      dropped.up.letGo(dropped)
      socket.destroy()
    })
    up.hold(entry)
    list.push(entry)
    this.armSweep(idleMs)
  }

  close(): void {
    clearTimeout(this.sweepTimer)
    this.sweepTimer = undefined
    for (const list of this.idle.values()) for (const entry of list.splice(0)) entry.expire()
  }

  private armSweep(inMs: number): void {
    if (this.sweepTimer) return
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined
      this.sweep()
    }, inMs)
    this.sweepTimer.unref()
  }

  /** Drops the connections idle `idleMs` or more; the timer comes again for the oldest left, if any. */
  private sweep(): void {
    const now = performance.now()
    let oldest = Number.POSITIVE_INFINITY
    for (const list of this.idle.values())
      for (const entry of [...list]) {
        if (now - entry.since >= idleMs) entry.expire()
        else oldest = Math.min(oldest, entry.since)
      }
    if (oldest !== Number.POSITIVE_INFINITY) this.armSweep(Math.max(1, oldest + idleMs - now))
  }
}
