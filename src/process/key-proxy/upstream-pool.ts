import type { Socket } from 'node:net'

/** How long an idle upstream connection is kept for the next agent connection. */
const idleMs = 60_000
/** Idle connections kept per upstream route at most. */
const maxIdle = 16

/**
 * Upstream connections an agent connection left idle (it ended cleanly after complete answers), for the next
 * agent connection to the same upstream: agents that open a connection per model call (codex's app-server does)
 * do not pay a TCP and TLS handshake to the provider each time. One the upstream closes or writes to while idle
 * is dropped; one it closes just as it is taken again is the caller's to handle (proxy-connection.ts sends that
 * first request again, once, on a new connection).
 */
export class UpstreamPool {
  private readonly idle = new Map<string, Socket[]>()
  private readonly detach = new WeakMap<Socket, () => void>()

  /** The most recently idle connection for `route`, if any (its pool listeners removed). */
  take(route: string): Socket | undefined {
    const socket = this.idle.get(route)?.pop()
    if (!socket) return undefined
    this.detach.get(socket)?.()
    return socket
  }

  give(route: string, socket: Socket): void {
    const list = this.idle.get(route) ?? []
    if (list.length >= maxIdle || socket.destroyed) {
      socket.destroy()
      return
    }
    this.idle.set(route, list)
    list.push(socket)
    const drop = () => {
      const at = list.indexOf(socket)
      if (at >= 0) list.splice(at, 1)
      socket.destroy()
    }
    const ignore = () => {}
    socket.setTimeout(idleMs)
    socket.on('timeout', drop)
    socket.on('data', drop)
    socket.on('end', drop)
    socket.on('close', drop)
    socket.on('error', ignore)
    this.detach.set(socket, () => {
      socket.setTimeout(0)
      socket.off('timeout', drop)
      socket.off('data', drop)
      socket.off('end', drop)
      socket.off('close', drop)
      socket.off('error', ignore)
    })
  }

  close(): void {
    for (const list of this.idle.values()) for (const socket of list.splice(0)) socket.destroy()
  }
}
