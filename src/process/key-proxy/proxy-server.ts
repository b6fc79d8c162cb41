import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { type EgressSettings, egressProxyFor, proxyAuthorization } from './egress.js'
import { type ModelProvider, presentedToken, withRealKey } from './provider-auth.js'

/** One provider the proxy stands in front of: where its API is and the key the gateway holds for it. */
export interface Upstream {
  provider: ModelProvider
  /** The provider's base URL (its path is kept: `http://host/v1` + `/responses`). */
  url: string
  key: string
}

/** Which provider a presented token is live for, if any (the thread's view of the tokens the gateway lent). */
export type TokenCheck = (token: string) => ModelProvider | undefined

/** Headers that belong to one connection, never forwarded (RFC 9110 7.6.1), plus the agent's Host. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
])

/** The largest model request the proxy takes (it holds a request's body to send it again: see attempt). */
const maxBodyBytes = 64 * 1024 * 1024
/** How a call on a connection the upstream had just closed fails. */
const staleConnection = new Set(['ECONNRESET', 'EPIPE'])

/**
 * The key proxy's serving side (it runs on a thread of its own: key-proxy-thread.ts): it accepts live tokens
 * only, swaps the token for the real key in the provider's auth header and forwards to that provider's upstream
 * only (the path is appended to the upstream's base; the host is never the agent's to choose). Answers (SSE,
 * chunked, a websocket upgrade) stream through as they come. It listens on 127.0.0.1, never on the API's address.
 */
export class ProxyServer {
  private readonly upstreams: Map<ModelProvider, { url: URL; key: string }>
  private readonly sockets = new Set<Socket>()
  private readonly agents = {
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({ keepAlive: true }),
  }
  /** Keep-alive tunnels through the egress proxy, per proxy (https upstreams). */
  private readonly tunnels = new Map<string, https.Agent>()

  private constructor(
    private readonly server: http.Server,
    upstreams: Upstream[],
    private readonly liveFor: TokenCheck,
    private readonly egress: EgressSettings | undefined,
  ) {
    this.upstreams = new Map(upstreams.map((u) => [u.provider, { url: new URL(u.url), key: u.key }]))
  }

  /**
   * Listening on 127.0.0.1:`port` (0: any free port). With `egress`, upstream calls go through the server's HTTP
   * proxy as its other outbound traffic does (egress.ts): an http upstream's call in absolute form, an https
   * upstream's in a CONNECT tunnel, TLS end to end.
   */
  static async listen(
    upstreams: Upstream[],
    liveFor: TokenCheck,
    port = 0,
    egress?: EgressSettings,
  ): Promise<ProxyServer> {
    // agents' connection pools close idle connections first (reqwest 90 s, undici by the server's hint): a
    // request sent on a connection the server is just closing would fail the model call
    const server = http.createServer()
    server.keepAliveTimeout = 120_000
    const proxy = new ProxyServer(server, upstreams, liveFor, egress)
    server.on('request', (req, res) => proxy.forward(req, res))
    server.on('upgrade', (req, socket, head) => proxy.forwardUpgrade(req, socket, head))
    server.on('connect', (_req, socket: Duplex) => refuseSocket(socket, 405, 'CONNECT is not served'))
    server.on('connection', (s: Socket) => {
      proxy.sockets.add(s)
      s.on('close', () => proxy.sockets.delete(s))
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
    for (const s of this.sockets) s.destroy()
    this.agents.http.destroy()
    this.agents.https.destroy()
    for (const agent of this.tunnels.values()) agent.destroy()
    await closed
  }

  /** Where a request goes, or why it is refused. */
  private route(req: IncomingMessage): Route | Refusal {
    const target = req.url ?? ''
    if (!target.startsWith('/')) return refusal(400, 'invalid_request', 'only origin-form request targets')
    const q = target.indexOf('?')
    const rawPath = q < 0 ? target : target.slice(0, q)
    const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1))
    const [, first = '', ...rest] = rawPath.split('/')
    const provider = first as ModelProvider
    const upstream = this.upstreams.get(provider)
    if (!upstream) return refusal(404, 'not_found', 'no such provider on this proxy')
    if (rest.some(unsafeSegment))
      return refusal(400, 'invalid_request', 'dot segments and encoded separators are refused')
    const token = presentedToken(provider, req.headers, query)
    if (!token || this.liveFor(token) !== provider)
      return refusal(401, 'unauthorized', 'unknown or revoked token')
    // the query goes as sent, but for Gemini's `?key=` (the token), taken out
    let search = q < 0 ? '' : target.slice(q + 1)
    if (provider === 'gemini' && query.has('key')) {
      query.delete('key')
      search = query.toString()
    }
    const base = upstream.url.pathname.replace(/\/$/, '')
    const headers: OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(withRealKey(provider, req.headers, upstream.key)))
      if (value !== undefined && !hopByHop.has(name)) headers[name] = value
    headers.host = upstream.url.host
    return {
      url: upstream.url,
      path: `${base}/${rest.join('/')}${search ? `?${search}` : ''}`,
      headers,
    }
  }

  private send(route: Route, method: string, headers: OutgoingHttpHeaders): http.ClientRequest {
    const secure = route.url.protocol === 'https:'
    const hostname = route.url.hostname.replace(/^\[|\]$/g, '')
    const port = route.url.port || (secure ? 443 : 80)
    const egress = egressProxyFor(route.url, this.egress)
    if (egress && !secure)
      return http.request({
        hostname: egress.hostname.replace(/^\[|\]$/g, ''),
        port: egress.port || 80,
        method,
        path: `http://${route.url.host}${route.path}`,
        headers: { ...headers, ...proxyAuthorization(egress) },
        agent: this.agents.http,
      })
    return (secure ? https : http).request({
      protocol: route.url.protocol,
      hostname,
      port,
      method,
      path: route.path,
      headers,
      agent: egress ? this.tunnel(egress) : secure ? this.agents.https : this.agents.http,
    })
  }

  /** An https agent whose connections are CONNECT tunnels through `proxy`, TLS to the upstream inside. */
  private tunnel(proxy: URL): https.Agent {
    let agent = this.tunnels.get(proxy.href)
    if (agent) return agent
    agent = new https.Agent({ keepAlive: true })
    type Done = (err: Error | null, socket?: Duplex) => void
    const connect = (options: tls.ConnectionOptions & { host?: string; port?: number }, done: Done) => {
      const target = `${options.host}:${options.port}`
      const req = http.request({
        hostname: proxy.hostname.replace(/^\[|\]$/g, ''),
        port: proxy.port || 80,
        method: 'CONNECT',
        path: target,
        headers: { host: target, ...proxyAuthorization(proxy) },
        agent: false,
      })
      req.once('connect', (answer, socket) => {
        if (answer.statusCode !== 200) {
          socket.destroy()
          done(new Error(`the egress proxy answered CONNECT ${target} with ${answer.statusCode}`))
          return
        }
        done(null, tls.connect({ ...options, socket, servername: options.servername || options.host }))
      })
      req.once('error', (err) => done(err))
      req.end()
      // the agent takes the socket from `done` (Node's agents accept a createConnection that answers later)
      return undefined
    }
    agent.createConnection = connect as unknown as https.Agent['createConnection']
    this.tunnels.set(proxy.href, agent)
    return agent
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const route = this.route(req)
    if ('status' in route) {
      req.resume()
      answerJson(res, route.status, route.body)
      return
    }
    readBody(req, maxBodyBytes).then(
      (body) => {
        if (body === undefined)
          answerJson(
            res,
            413,
            refusal(413, 'body_too_large', `a model request is at most ${maxBodyBytes} bytes`).body,
          )
        else this.attempt(route, req.method ?? 'GET', body, res, 1)
      },
      () => res.destroy(),
    )
  }

  /**
   * One upstream call with the whole body. A call that failed on a reused keep-alive connection before any answer
   * is sent again once, on a new one: the upstream closed that idle connection just as it was reused (Node's
   * documented ECONNRESET race, `request.reusedSocket`), and nothing of the call reached it.
   */
  private attempt(route: Route, method: string, body: Buffer, res: ServerResponse, retries: number): void {
    const headers = body.length > 0 ? { ...route.headers, 'content-length': body.length } : route.headers
    const up = this.send(route, method, headers)
    let answered = false
    up.on('response', (answer) => {
      answered = true
      const headers: OutgoingHttpHeaders = {}
      for (const [name, value] of Object.entries(answer.headers))
        if (value !== undefined && !hopByHop.has(name)) headers[name] = value
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers)
      res.flushHeaders()
      answer.pipe(res)
      answer.on('error', () => res.destroy())
    })
    up.on('error', (err: NodeJS.ErrnoException) => {
      res.off('close', abandon)
      if (
        !answered &&
        retries > 0 &&
        up.reusedSocket &&
        staleConnection.has(err.code ?? '') &&
        !res.destroyed
      )
        return this.attempt(route, method, body, res, retries - 1)
      if (res.headersSent) res.destroy()
      else answerJson(res, 502, { error: { code: 'bad_gateway', message: `upstream: ${err.message}` } })
    })
    // the agent went away: so does the upstream call (a streamed answer is not read to its end for nobody)
    const abandon = () => {
      if (!res.writableFinished) up.destroy()
    }
    res.on('close', abandon)
    up.end(body)
  }

  private forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const route = this.route(req)
    if ('status' in route) {
      refuseSocket(socket, route.status, route.body.error.message)
      return
    }
    const headers = { ...route.headers, connection: 'Upgrade', upgrade: req.headers.upgrade ?? 'websocket' }
    const up = this.send(route, req.method ?? 'GET', headers)
    up.on('upgrade', (answer, upSocket, upHead) => {
      socket.write(statusBlock(101, answer.statusMessage ?? 'Switching Protocols', answer.rawHeaders))
      if (upHead.length) socket.write(upHead)
      if (head.length) upSocket.write(head)
      upSocket.pipe(socket).pipe(upSocket)
      upSocket.on('error', () => socket.destroy())
      socket.on('error', () => upSocket.destroy())
      socket.on('close', () => upSocket.destroy())
      upSocket.on('close', () => socket.destroy())
    })
    up.on('response', (answer) => {
      socket.write(statusBlock(answer.statusCode ?? 502, answer.statusMessage ?? '', answer.rawHeaders))
      answer.pipe(socket)
    })
    up.on('error', () => socket.destroy())
    socket.on('error', () => up.destroy())
    up.end()
  }
}

interface Route {
  url: URL
  path: string
  headers: OutgoingHttpHeaders
}

interface Refusal {
  status: number
  body: { error: { code: string; message: string } }
}

const refusal = (status: number, code: string, message: string): Refusal => ({
  status,
  body: { error: { code, message } },
})

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

function answerJson(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/** The whole body of `req`, or undefined when it is larger than `limit` bytes (read to its end, not kept). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  // not left early: that would destroy the request, and with it the socket the refusal goes out on
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= limit) chunks.push(chunk)
  }
  return size > limit ? undefined : Buffer.concat(chunks, size)
}

function statusBlock(status: number, message: string, rawHeaders: string[]): string {
  const lines = [`HTTP/1.1 ${status} ${message}`]
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) lines.push(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}

function refuseSocket(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: status === 401 ? 'unauthorized' : 'refused', message } })
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}
