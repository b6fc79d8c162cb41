import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'
import { AppError } from '../../protocol/errors.js'

/**
 * Where webhooks may go. A target whose address (every address its name resolves to) is loopback, private,
 * link-local or otherwise not public unicast is refused unless WEBHOOK_ALLOWED_HOSTS lists its host name or an
 * IP/CIDR containing the address. The same check runs inside the connection's own DNS lookup, so a name that
 * resolves differently at delivery time (DNS rebinding) is still refused.
 */
export class WebhookTargets {
  private readonly hosts = new Set<string>()
  private readonly ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = []

  constructor(allowed: readonly string[]) {
    for (const entry of allowed) {
      const e = entry.toLowerCase().replace(/^\[|\]$/g, '')
      if (ipaddr.isValidCIDR(e)) this.ranges.push(ipaddr.parseCIDR(e))
      else if (ipaddr.isValid(e)) {
        const addr = ipaddr.process(e)
        this.ranges.push([addr, addr.kind() === 'ipv4' ? 32 : 128])
      } else this.hosts.add(e)
    }
  }

  /** Resolves the URL's host and throws a 400 when the target is refused. */
  async check(url: string): Promise<void> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
    const addresses = await resolve(host).catch((err: Error) => {
      throw new AppError('invalid_request', `webhook host ${host} does not resolve: ${err.message}`)
    })
    const refused = this.refusal(host, addresses)
    if (refused) throw new AppError('invalid_request', refused)
  }

  /** A `lookup` for http.request that resolves, checks and hands the connection only allowed addresses. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const refused = this.refusal(hostname, addresses)
        if (refused) return callback(new Error(refused), '', 4)
        if ((options as { all?: boolean }).all) return (callback as AllCallback)(null, addresses)
        const first = addresses[0]!
        callback(null, first.address, first.family)
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    )
  }

  private refusal(host: string, addresses: LookupAddress[]): string | null {
    if (this.hosts.has(host.toLowerCase())) return null
    if (addresses.length === 0) return `webhook host ${host} has no address`
    for (const { address } of addresses) {
      const addr = ipaddr.process(address)
      if (this.ranges.some((r) => addr.kind() === r[0].kind() && addr.match(r))) continue
      const range = addr.range()
      if (range !== 'unicast')
        return `webhook target ${host} (${address}) is ${range}, not public; list it in WEBHOOK_ALLOWED_HOSTS to allow it`
    }
    return null
  }
}

type AllCallback = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void

function resolve(host: string): Promise<LookupAddress[]> {
  return new Promise((ok, fail) =>
    dnsLookup(host, { all: true }, (err, addresses) => (err ? fail(err) : ok(addresses))),
  )
}
