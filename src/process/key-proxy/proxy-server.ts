import net, { type AddressInfo } from 'node:net'
import { type EgressSettings, egressProxyFor, proxyAuthorization } from './egress.js'
import type { RequestHead } from './http-framing.js'
import { credentialHeaders, type ModelProvider, presentedToken, realKeyHeader } from './provider-auth.js'
import { ProxyConnection } from './proxy-connection.js'
import { type Forward, type Refusal, refusal } from './proxy-decision.js'
import { connectUpstream, type Via } from './upstream-connect.js'
import { UpstreamPool } from './upstream-pool.js'

/** One provider the proxy stands in front of: where its API is and the key the gateway holds for it. */
export interface Upstream {
  provider: ModelProvider
  /** The provider's base URL (its path is kept: `http://host/v1` + `/responses`). */
  url: string
  key: string
}

/** Which provider a presented token is live for, if any (the thread's view of the tokens the gateway lent). */
export type TokenCheck = (token: string) => ModelProvider | undefined

/**
 * Request headers never sent upstream: every header a credential may travel in (the real key is set in its
 * provider's), the agent's Host, and what was meant for a proxy. The rest, connection-level headers included,
 * go as sent: the agent's connection is paired with one upstream connection (proxy-connection.ts).
 */
const dropped = new Set([...credentialHeaders, 'host', 'proxy-authorization', 'proxy-connection'])

/**
 * The key proxy's serving side (it runs on a thread of its own: key-proxy-thread.ts): it accepts live tokens
 * only, swaps the token for the real key in the provider's auth header and forwards to that provider's upstream
 * only (the path is appended to the upstream's base; the host is never the agent's to choose). Each agent
 * connection is paired with one upstream connection and the bytes pass as they come (proxy-connection.ts): SSE,
 * chunked answers and websocket upgrades stream through. It listens on 127.0.0.1, never on the API's address.
 */
export class ProxyServer {
  private readonly upstreams: Map<ModelProvider, { url: URL; key: string; base: string }>
  private readonly connections = new Set<ProxyConnection>()
  private readonly pool = new UpstreamPool()

  private constructor(
    private readonly server: net.Server,
    upstreams: Upstream[],
    private readonly liveFor: TokenCheck,
    private readonly egress: EgressSettings | undefined,
  ) {
    this.upstreams = new Map(
      upstreams.map((u) => {
        const url = new URL(u.url)
        return [u.provider, { url, key: u.key, base: url.pathname.replace(/\/$/, '') }]
      }),
    )
  }

  /**
   * Listening on 127.0.0.1:`port` (0: any free port). With `egress`, upstream calls go through the server's HTTP
   * proxy as its other outbound traffic does (egress.ts): an http upstream's requests in absolute form, an https
   * upstream's connection, and an http upstream's websocket upgrade, in a CONNECT tunnel (TLS end to end).
   */
  static async listen(
    upstreams: Upstream[],
    liveFor: TokenCheck,
    port = 0,
    egress?: EgressSettings,
  ): Promise<ProxyServer> {
    // half open: an agent that ended its side after a request still gets the answer
    const server = net.createServer({ allowHalfOpen: true })
    const proxy = new ProxyServer(server, upstreams, liveFor, egress)
    server.on('connection', (socket: net.Socket) => {
      const connection = new ProxyConnection(socket, (head) => proxy.decide(head), proxy.pool)
      proxy.connections.add(connection)
      socket.on('close', () => proxy.connections.delete(connection))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    return proxy
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const c of this.connections) c.destroy()
    this.pool.close()
    await closed
  }

  /** Where a request goes (its head rewritten), or why it is refused. */
  private decide(head: RequestHead): Forward | Refusal {
    const target = head.target
    if (!target.startsWith('/')) return refusal(400, 'invalid_request', 'only origin-form request targets')
    const q = target.indexOf('?')
    const rawPath = q < 0 ? target : target.slice(0, q)
    // `/<provider>/<rest>`: the rest goes below the provider's base as it is
    const slash = rawPath.indexOf('/', 1)
    const provider = (slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash)) as ModelProvider
    const rest = slash < 0 ? '' : rawPath.slice(slash + 1)
    const upstream = this.upstreams.get(provider)
    if (!upstream) return refusal(404, 'not_found', 'no such provider on this proxy')
    if (unsafePath(rest))
      return refusal(400, 'invalid_request', 'dot segments and encoded separators are refused')
    let search = q < 0 ? '' : target.slice(q + 1)
    const query = search ? new URLSearchParams(search) : undefined
    const token = presentedToken(provider, head.first, query)
    if (!token || this.liveFor(token) !== provider)
      return refusal(401, 'unauthorized', 'unknown or revoked token')
    // the query goes as sent, but for Gemini's `?key=` (the token), taken out
    if (provider === 'gemini' && query?.has('key')) {
      query.delete('key')
      search = query.toString()
    }
    const url = upstream.url
    const proxy = egressProxyFor(url, this.egress)
    const via: Via = !proxy
      ? { kind: 'direct' }
      : { kind: url.protocol === 'https:' || head.upgrade ? 'tunnel' : 'forward', proxy }
    const path = `${upstream.base}/${rest}${search ? `?${search}` : ''}`
    let text = `${head.method} ${via.kind === 'forward' ? `http://${url.host}${path}` : path} HTTP/1.${head.minor}\r\n`
    for (const [name, value] of head.lines)
      if (!dropped.has(name.toLowerCase())) text += `${name}: ${value}\r\n`
    const [keyName, keyValue] = realKeyHeader(provider, head.first, upstream.key)
    text += `Host: ${url.host}\r\n${keyName}: ${keyValue}\r\n`
    if (via.kind === 'forward')
      for (const [name, value] of Object.entries(proxyAuthorization(via.proxy)))
        text += `${name}: ${value}\r\n`
    return {
      pairing: `${provider} ${via.kind}`,
      head: `${text}\r\n`,
      open: () => connectUpstream(url, via),
    }
  }
}

/**
 * Whether a path (below the provider) has a segment `unsafeSegment` refuses. Most have no `%`, `\\` nor dot
 * segment: those are safe without decoding each segment.
 */
function unsafePath(path: string): boolean {
  if (!path.includes('%') && !path.includes('\\') && !path.includes('.')) return false
  return path.split('/').some(unsafeSegment)
}

/** `.`/`..` (also percent-encoded) and encoded slashes or backslashes: a path must stay below the base. */
function unsafeSegment(segment: string): boolean {
  if (/%2f|%5c|\\/i.test(segment)) return true
  let decoded: string
  try {
    decoded = decodeURIComponent(segment)
  } catch {
    return true
  }
  return decoded === '.' || decoded === '..'
}
