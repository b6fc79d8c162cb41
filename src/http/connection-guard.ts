import http from 'node:http'
import type http2 from 'node:http2'
import type { Socket } from 'node:net'
import type { Config } from '../config/load.js'
import type { ConnectionRefusal } from '../core/ops/metrics.js'
import { AppError, type ErrorCode } from '../protocol/errors.js'
import { ClientConnections } from './client-connections.js'
import { errorBody } from './errors.js'
import { isSelfTimed } from './self-timed-requests.js'

/** Why `admit` refused a connection. */
export type OverCapacity = Extract<ConnectionRefusal, 'max_connections' | 'max_connections_per_client'>

/**
 * Bounds on what one client connection may hold: the time to send a request head (or, on the cleartext port,
 * the first bytes that say which protocol it speaks; on TLS, the handshake), the time an HTTP/2 connection may
 * sit without a stream, and the number of connections held at once, in all and by one client. A slow or abusive
 * client is cut instead of holding a socket (and its buffers) forever.
 */
export class ConnectionGuard {
  readonly headersTimeoutMs: number
  readonly http2IdleMs: number
  private open = 0
  private readonly perClient: ClientConnections

  constructor(
    private readonly config: Pick<
      Config,
      | 'HEADERS_TIMEOUT_SECONDS'
      | 'HTTP2_IDLE_SECONDS'
      | 'MAX_CONNECTIONS'
      | 'MAX_CONNECTIONS_PER_CLIENT'
      | 'MAX_CONNECTIONS_PER_CLIENT_EXEMPT'
    >,
    private readonly onRefused: (reason: ConnectionRefusal) => void = () => {},
  ) {
    this.headersTimeoutMs = config.HEADERS_TIMEOUT_SECONDS * 1000
    this.http2IdleMs = config.HTTP2_IDLE_SECONDS * 1000
    this.perClient = new ClientConnections(
      config.MAX_CONNECTIONS_PER_CLIENT,
      config.MAX_CONNECTIONS_PER_CLIENT_EXEMPT,
    )
  }

  /**
   * Counts a new connection until it closes. Null when admitted; else why not (MAX_CONNECTIONS held already, or
   * MAX_CONNECTIONS_PER_CLIENT by its client), counted, and the connection is not.
   */
  admit(socket: Socket): OverCapacity | null {
    if (this.open >= this.config.MAX_CONNECTIONS) return this.refuse('max_connections')
    const refused = this.admitClient(socket)
    if (refused) return refused
    this.open++
    socket.once('close', () => this.open--)
    return null
  }

  /** The per-client count alone (where Node counts MAX_CONNECTIONS itself: the TLS server). */
  admitClient(socket: Socket): OverCapacity | null {
    return this.perClient.admit(socket) ? null : this.refuse('max_connections_per_client')
  }

  private refuse(reason: OverCapacity): OverCapacity {
    this.onRefused(reason)
    return reason
  }

  /** The 429 `over_capacity` answer to a connection `admit` refused. */
  refuseOverCapacity(socket: Socket, reason: OverCapacity): void {
    const message =
      reason === 'max_connections'
        ? `the server holds MAX_CONNECTIONS (${this.config.MAX_CONNECTIONS}) connections; retry later`
        : `this client holds MAX_CONNECTIONS_PER_CLIENT (${this.config.MAX_CONNECTIONS_PER_CLIENT}) connections; ` +
          'close one or retry later'
    this.refuseRaw(socket, 'over_capacity', message, true, { reason })
  }

  /** Connections held now. */
  get held(): number {
    return this.open
  }

  refused(reason: ConnectionRefusal): void {
    this.onRefused(reason)
  }

  /**
   * Node's own HTTP/1.1 clocks: the head must arrive within HEADERS_TIMEOUT_SECONDS (Node answers 408 through
   * `clientError`). Node checks them every `connectionsCheckingInterval` (30 s by default, which would let a
   * short timeout run up to 30 s late), so the check runs four times per timeout.
   */
  http1Options(): http.ServerOptions {
    return {
      headersTimeout: this.headersTimeoutMs,
      requestTimeout: Math.max(this.headersTimeoutMs, 300_000),
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, this.headersTimeoutMs / 4)),
    }
  }

  /** An HTTP/2 session without a stream for HTTP2_IDLE_SECONDS gets GOAWAY and closes. */
  watchHttp2Session(session: http2.ServerHttp2Session): void {
    let streams = 0
    const arm = () => session.setTimeout(this.http2IdleMs)
    session.on('timeout', () => {
      if (streams === 0 && !session.closed) session.close()
    })
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      streams++
      stream.once('close', () => {
        streams--
        if (streams === 0) arm()
      })
    })
    arm()
  }

  /**
   * Answers a cleartext HTTP/1.1 client with `status` and the /v1 error envelope, then closes: what it still sends
   * is read and dropped (unread data would make the close a reset that loses the answer), for at most the
   * headers timeout.
   */
  refuseRaw(socket: Socket, code: ErrorCode, message: string, drain = true, details?: object): void {
    const err = new AppError(code, message, details)
    const body = JSON.stringify(errorBody(err, 'v1'))
    const reason = http.STATUS_CODES[err.status] ?? 'Error'
    if (socket.writable)
      socket.end(
        `HTTP/1.1 ${err.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\n${err.status === 429 ? 'Retry-After: 1\r\n' : ''}\r\n${body}`,
      )
    socket.on('error', () => socket.destroy())
    if (!drain) return
    socket.resume()
    socket.setTimeout(this.headersTimeoutMs, () => socket.destroy())
  }

  /**
   * Fastify's `clientErrorHandler`: what Node's HTTP/1.1 parser refuses (a head too slow, too large or
   * malformed) is answered with the error envelope instead of Fastify's own body.
   */
  readonly clientError = (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    // a TLS handshake that failed or took too long (the secure server passes those here): nothing can be answered
    if (err.code?.startsWith('ERR_TLS_') || err.code?.startsWith('ERR_SSL_')) {
      if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') this.onRefused('headers_timeout')
      socket.destroy()
      return
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // Node checks each request once: a self-timed one (a long-lived /agent/stream body) is not checked again
      if (isSelfTimed(socket)) return
      this.onRefused('headers_timeout')
      this.refuseRaw(
        socket,
        'request_timeout',
        `the request head did not arrive within ${this.config.HEADERS_TIMEOUT_SECONDS} s (HEADERS_TIMEOUT_SECONDS)`,
        false,
      )
    } else if (err.code === 'HPE_HEADER_OVERFLOW')
      this.refuseRaw(
        socket,
        'headers_too_large',
        `the request headers are larger than the server accepts (${http.maxHeaderSize} bytes, node's --max-http-header-size): send fewer or smaller headers (cookies, long tokens)`,
        false,
      )
    else this.refuseRaw(socket, 'invalid_request', `malformed HTTP request: ${err.message}`, false)
  }
}
