import type net from 'node:net'

export interface AnnounceLimits {
  /** A connection that has not sent its announce bytes within this long is closed. */
  timeoutMs: number
  /** At most this many connections wait for their announce at once; a new one beyond closes the oldest. */
  maxPending: number
}

/**
 * The spawn host's listener admits only connections that announce themselves: the first `bytes` bytes (a spawn's
 * token and its stdio role) must arrive within `timeoutMs`, and no more than `maxPending` connections wait for
 * theirs. The host writes its announce as soon as it connected, so a connection that says nothing is not the
 * host's: another process of the same user (the only one that may enter the listener's directory) holding
 * sockets. The oldest waiting connection is the one closed: the host's own arrive with their bytes.
 */
export function acceptAnnounced(
  server: net.Server,
  bytes: number,
  limits: AnnounceLimits,
  onAnnounce: (socket: net.Socket, head: Buffer) => void,
): void {
  // in arrival order (a Set keeps insertion order): the first is the oldest
  const pending = new Set<net.Socket>()
  server.on('connection', (socket) => {
    socket.on('error', () => {})
    const done = () => {
      clearTimeout(timer)
      pending.delete(socket)
      socket.off('readable', onReadable)
    }
    const onReadable = () => {
      const head = socket.read(bytes) as Buffer | null
      if (head === null) return
      done()
      onAnnounce(socket, head)
    }
    const timer = setTimeout(() => {
      done()
      socket.destroy()
    }, limits.timeoutMs)
    timer.unref()
    socket.once('close', done)
    socket.on('readable', onReadable)
    pending.add(socket)
    if (pending.size > limits.maxPending) {
      const oldest = pending.values().next().value as net.Socket
      oldest.destroy()
    }
  })
}
