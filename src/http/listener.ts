import { readFileSync } from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import type { Socket } from 'node:net'
import type { TLSSocket, Server as TlsServer } from 'node:tls'
import type { Config } from '../config/load.js'
import type { ConnectionGuard } from './connection-guard.js'
import { answeredBodyBytes, drainAfterAnswer } from './h2-answered-body.js'

/** What Fastify hands a server factory; it serves HTTP/2 compatibility requests as well. */
type Handler = http.RequestListener
type H2Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void

/** The listening server plus what a graceful close needs beyond `server.close()`. */
export interface Listener {
  server: http.Server | http2.Http2SecureServer
  protocol: 'http' | 'https'
  /** Sends GOAWAY to every HTTP/2 session: no new streams; streams in flight finish. */
  closeHttp2Sessions(): void
  /** Ends every connection at once, HTTP/2 sessions and upgraded (WebSocket) sockets included: the close ceiling. */
  destroyAll(): void
  /**
   * Ends the connections whose client has not sent a byte of a request yet (a browser's or a pool's spare
   * connection; on TLS also one still in its handshake): a closing server has nothing to answer on them, and they
   * would otherwise hold its close until HEADERS_TIMEOUT_SECONDS or the close ceiling.
   */
  closeSilent(): void
}

const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

/**
 * How long an idle HTTP/1.1 connection is kept for the client's next request: Fastify's own default (it sets it
 * only on a server it creates, not on one from a server factory, where Node's 5 s would apply), above the 60 s
 * idle timeout of common load balancers, so a client with a pause between turns reuses its connection.
 */
export const keepAliveTimeoutMs = 72_000

/**
 * One port for every protocol (DESIGN.md: server.ts h1/h2c/h2+TLS). With TLS: Node's HTTP/2 secure server
 * with `allowHTTP1`, so ALPN picks h2 or http/1.1. Without TLS: an HTTP/1.1 server whose connections are
 * sniffed first; a connection that opens with the HTTP/2 preface (h2c with prior knowledge) goes to an
 * HTTP/2 server instead. Both feed the same Fastify handler.
 */
export function createListener(config: Config, handler: Handler, guard: ConnectionGuard): Listener {
  const h2Handler = handler as unknown as H2Handler
  const sessions = new Set<http2.ServerHttp2Session>()
  const track = (session: http2.ServerHttp2Session) => {
    guard.watchHttp2Session(session)
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  }
  const h2Settings: http2.ServerOptions = {
    // Long-lived streams (SSE, /agent/stream) share one connection; Node's own default has no bound.
    settings: { maxConcurrentStreams: config.HTTP2_MAX_STREAMS },
  }
  const answeredBody = {
    idleMs: config.BODY_IDLE_SECONDS * 1000,
    minBytesPerSecond: config.BODY_MIN_BYTES_PER_SECOND,
    maxBytes: answeredBodyBytes(config.BODY_LIMIT_BYTES),
  }
  // after Fastify's handler (the server's first listener); TLS with `allowHTTP1` emits HTTP/1.1 requests here too
  const onRequest = (request: http2.Http2ServerRequest | http.IncomingMessage) => {
    if (request instanceof http2.Http2ServerRequest) drainAfterAnswer(request, answeredBody)
  }
  const closeHttp2Sessions = () => {
    for (const s of sessions) s.close()
  }
  // Upgraded and refused-upgrade sockets are not the HTTP server's any more; closing must still end them.
  const sockets = new Set<Socket>()
  const trackSocket = (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  const destroyAll = () => {
    for (const s of sessions) s.destroy()
    for (const s of sockets) s.destroy()
  }
  if (config.tls) {
    const server = http2.createSecureServer(
      {
        ...h2Settings,
        allowHTTP1: true,
        // a client that opens a connection and never finishes the handshake is cut
        handshakeTimeout: guard.headersTimeoutMs,
        cert: readFileSync(config.tls.certPath),
        key: readFileSync(config.tls.keyPath),
      },
      h2Handler,
    )
    // read by Node's HTTP/1.1 connection handling of `allowHTTP1` connections
    // read when it starts listening (Node sets up the HTTP/1.1 connection checks of `allowHTTP1` then)
    const { headersTimeout, requestTimeout, connectionsCheckingInterval } = guard.http1Options()
    Object.assign(server, {
      keepAliveTimeout: keepAliveTimeoutMs,
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval,
    })
    // no answer can be written before the handshake: a connection over MAX_CONNECTIONS is closed (Node's own count)
    server.maxConnections = config.MAX_CONNECTIONS
    server.on('drop', () => guard.refused('max_connections'))
    // the same for one client over MAX_CONNECTIONS_PER_CLIENT, before the TLS socket reads a byte
    server.prependListener('connection', (socket: Socket) => {
      if (guard.admitClient(socket)) socket.destroy()
    })
    server.on('session', track)
    server.on('request', onRequest)
    server.on('connection', trackSocket)
    return { server, protocol: 'https', closeHttp2Sessions, destroyAll, closeSilent: silentTls(server) }
  }
  const server = http.createServer(guard.http1Options(), handler)
  server.keepAliveTimeout = keepAliveTimeoutMs
  const h2c = http2.createServer(h2Settings, h2Handler)
  h2c.on('session', track)
  h2c.on('request', onRequest)
  const silent = new Set<Socket>()
  routeH2cConnections(server, h2c, guard, silent)
  server.on('connection', trackSocket)
  const closeSilent = () => {
    for (const s of silent) s.destroy()
  }
  return { server, protocol: 'http', closeHttp2Sessions, destroyAll, closeSilent }
}

/**
 * The TLS port's connections a stop may end at once: those still in their handshake, and HTTP/1.1 ones whose
 * client has not sent a byte since (Node's HTTP/1.1 handling counts such a connection as busy, not idle, so
 * `closeIdleConnections` leaves it). An h2 connection is its session's (`closeHttp2Sessions`). Returns the closer.
 */
function silentTls(server: TlsServer): () => void {
  // a raw socket and the TLS socket on top of it share the client's address and port
  const key = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`
  const handshaking = new Map<string, Socket>()
  const quiet = new Set<TLSSocket>()
  server.on('connection', (raw: Socket) => {
    if (raw.destroyed || raw.remotePort === undefined) return
    const k = key(raw)
    handshaking.set(k, raw)
    raw.once('close', () => {
      if (handshaking.get(k) === raw) handshaking.delete(k)
    })
  })
  server.on('secureConnection', (socket: TLSSocket) => {
    handshaking.delete(key(socket))
    if (socket.alpnProtocol === 'h2') return
    quiet.add(socket)
    socket.once('close', () => quiet.delete(socket))
  })
  return () => {
    for (const raw of handshaking.values()) raw.destroy()
    for (const socket of quiet) {
      // the request bytes it read (decrypted): once it spoke, its request has the grace, then Node closes it idle
      if (socket.bytesRead === 0) socket.destroy()
      else quiet.delete(socket)
    }
  }
}

/**
 * Puts a sniffer in front of the HTTP/1.1 server's own connection handler: the first bytes are read, put
 * back (`unshift`), and the socket goes to `h2c` when they are the HTTP/2 connection preface. The guard counts
 * the connection first; one over MAX_CONNECTIONS (or MAX_CONNECTIONS_PER_CLIENT) is answered 429 once it spoke
 * HTTP/1.1 (closed if HTTP/2).
 * A client that says nothing, or only part of the preface, within HEADERS_TIMEOUT_SECONDS is cut; one that leaves
 * (FIN) meanwhile is closed at once.
 */
function routeH2cConnections(
  server: http.Server,
  h2c: http2.Http2Server,
  guard: ConnectionGuard,
  silent: Set<Socket>,
): void {
  const own = server.listeners('connection')
  if (own.length !== 1) throw new Error('unexpected HTTP server connection listeners')
  const http1 = own[0] as (socket: Socket) => void
  server.removeAllListeners('connection')
  server.on('connection', (socket: Socket) => {
    // A client that resets before it spoke goes quietly.
    const onError = () => socket.destroy()
    socket.on('error', onError)
    // A client that leaves (FIN) before it said which protocol (nothing, or part of the preface) will say no more:
    // its socket is half-open (the HTTP/1.1 server's), and would wait in CLOSE-WAIT for HEADERS_TIMEOUT_SECONDS.
    const onEnd = () => socket.destroy()
    socket.once('end', onEnd)
    const refused = guard.admit(socket)
    let seen: Buffer = Buffer.alloc(0)
    silent.add(socket)
    socket.once('close', () => silent.delete(socket))
    socket.setTimeout(guard.headersTimeoutMs, () => {
      guard.refused('headers_timeout')
      if (seen.length === 0)
        guard.refuseRaw(socket, 'request_timeout', 'nothing was sent within HEADERS_TIMEOUT_SECONDS')
      else socket.destroy()
    })
    const sniff = (): void => {
      const chunk = socket.read() as Buffer | null
      if (chunk === null) {
        socket.once('readable', sniff)
        return
      }
      const data = seen.length ? Buffer.concat([seen, chunk]) : chunk
      seen = data
      silent.delete(socket)
      const n = Math.min(data.length, preface.length)
      const couldBeH2 = data.subarray(0, n).equals(preface.subarray(0, n))
      if (couldBeH2 && data.length < preface.length) {
        socket.once('readable', sniff)
        return
      }
      socket.setTimeout(0)
      socket.removeAllListeners('timeout')
      // it spoke: a FIN that came with its bytes is for the server it goes to (or the refusal) to read
      socket.off('end', onEnd)
      if (refused) {
        if (couldBeH2) socket.destroy()
        else guard.refuseOverCapacity(socket, refused)
        return
      }
      socket.off('error', onError)
      socket.unshift(data)
      if (couldBeH2) {
        // an HTTP/1.1 server's sockets stay half-open after the client's FIN (its parser ends them); an HTTP/2
        // session ends only when its socket closes, so one whose client left with streams open would stay, with
        // them, in CLOSE-WAIT for good (Node's own HTTP/2 server is not half-open)
        socket.allowHalfOpen = false
        h2c.emit('connection', socket)
      } else http1.call(server, socket)
    }
    sniff()
  })
}
