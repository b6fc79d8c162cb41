import net from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 in front of a PostgreSQL server that holds every chunk `ms` in each direction (a server
 * across a network, or a client its machine deschedules between two reads): each round trip of a store's
 * transaction takes at least twice that. `url` is `target` (a postgres:// URL) with the proxy's host and port.
 */
export interface DelayingProxy {
  url: string
  close(): Promise<void>
}

export async function startDelayingProxy(target: string, ms: number): Promise<DelayingProxy> {
  const open = new Set<net.Socket>()
  const { hostname, port } = new URL(target)
  // chunks of one direction, each sent `ms` after it came (equal delays: timers fire in order)
  const relay = (from: net.Socket, to: net.Socket) =>
    from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), ms))
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname)
    for (const [socket, peer] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(socket)
      socket.setNoDelay(true)
      socket.on('error', () => {})
      // the other end once what is held for it is sent
      socket.on('close', () => {
        open.delete(socket)
        setTimeout(() => peer.end(), ms)
      })
    }
    relay(client, upstream)
    relay(upstream, client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = new URL(target)
  url.hostname = '127.0.0.1'
  url.port = String((server.address() as net.AddressInfo).port)
  return {
    url: url.toString(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
