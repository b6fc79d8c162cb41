import net from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 in front of a server that can drop every connection it carries (a network that broke
 * with a RST), or leave them open and silent (a network gone without a FIN or RST: wifi lost, a NAT mapping
 * dropped).
 */
export interface CuttingProxy {
  url: string
  /** Ends every connection open through the proxy now (new ones are carried again). */
  cut(): void
  /**
   * Stops carrying anything on every connection open now, in either direction, without closing them (new ones are
   * carried again). A connection the client closes is closed upstream too. Returns how many it stalled.
   */
  stall(): number
  close(): Promise<void>
}

export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const { hostname, port } = new URL(target)
  const open = new Set<net.Socket>()
  const pairs = new Set<[net.Socket, net.Socket]>()
  const track = (socket: net.Socket) => {
    open.add(socket)
    socket.on('close', () => open.delete(socket))
    socket.on('error', () => {})
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname)
    const pair: [net.Socket, net.Socket] = [client, upstream]
    pairs.add(pair)
    track(client)
    track(upstream)
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => {
      pairs.delete(pair)
      client.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const cut = () => {
    for (const socket of open) socket.destroy()
  }
  const stall = () => {
    const stalled = [...pairs]
    pairs.clear()
    for (const [client, upstream] of stalled) {
      client.unpipe(upstream)
      upstream.unpipe(client)
      // read and dropped: what a dead link does with the bytes (a socket's `close` still ends its peer)
      for (const socket of [client, upstream]) socket.on('data', () => {}).resume()
    }
    return stalled.length
  }
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut,
    stall,
    close: () =>
      new Promise<void>((resolve) => {
        cut()
        server.close(() => resolve())
      }),
  }
}
