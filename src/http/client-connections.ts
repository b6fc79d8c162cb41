import type { Socket } from 'node:net'
import ipaddr from 'ipaddr.js'

/**
 * The connections each client holds, for MAX_CONNECTIONS_PER_CLIENT: one client cannot take every slot of
 * MAX_CONNECTIONS and lock the others out. A client is the socket's remote address (headers such as
 * X-Forwarded-For are not trusted: anyone can send them); an IPv6 client is its /64, the block one host
 * usually holds whole. Addresses in the exempt ranges (a proxy in front, loopback) are not counted.
 */
export class ClientConnections {
  private readonly held = new Map<string, number>()
  private readonly exempt: [ipaddr.IPv4 | ipaddr.IPv6, number][]

  constructor(
    private readonly max: number,
    exempt: readonly string[],
  ) {
    this.exempt = exempt.map((e) => {
      if (ipaddr.isValidCIDR(e)) return ipaddr.parseCIDR(e)
      const addr = ipaddr.process(e)
      return [addr, addr.kind() === 'ipv4' ? 32 : 128]
    })
  }

  /** Counts `socket` against its client until it closes; false (not counted) when the client holds `max`. */
  admit(socket: Socket): boolean {
    const key = this.keyOf(socket.remoteAddress)
    if (key === null) return true
    const n = this.held.get(key) ?? 0
    if (n >= this.max) return false
    this.held.set(key, n + 1)
    socket.once('close', () => {
      const left = (this.held.get(key) ?? 1) - 1
      if (left > 0) this.held.set(key, left)
      else this.held.delete(key)
    })
    return true
  }

  /** Clients holding a connection now (exempt ones not counted). */
  get clients(): number {
    return this.held.size
  }

  /** The client an address belongs to; null when it is exempt or unknown (a socket already closed). */
  private keyOf(address: string | undefined): string | null {
    if (!address || !ipaddr.isValid(address)) return null
    const addr = ipaddr.process(address)
    if (this.exempt.some(([range, bits]) => addr.kind() === range.kind() && addr.match(range, bits)))
      return null
    if (addr.kind() === 'ipv4') return addr.toString()
    return `${(addr as ipaddr.IPv6).parts.slice(0, 4).join(':')}::/64`
  }
}
