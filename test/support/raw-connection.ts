import net from 'node:net'
import tls from 'node:tls'

/** What a raw connection received until the server closed it. */
export interface Closed {
  text: string
  /** The status line's code, when an HTTP/1.1 answer came. */
  status?: number
  body?: unknown
}

/** Parses what came back on a raw HTTP/1.1 connection. */
function parsed(text: string): Closed {
  const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]
  const body = text.includes('\r\n\r\n') ? text.slice(text.indexOf('\r\n\r\n') + 4) : ''
  return {
    text,
    ...(status ? { status: Number(status), body: body ? JSON.parse(body) : undefined } : {}),
  }
}

/**
 * Opens a raw TCP (or, with `tls`, TLS with ALPN http/1.1) connection to the gateway: `connected` resolves once
 * it can be written, `answered` on the first bytes back, `closed` with what came back once the server closes it.
 * `localAddress` picks the client's address (any of 127.0.0.0/8 on Linux).
 */
export function rawConnection(url: string, opts: { localAddress?: string; tls?: boolean } = {}) {
  const { hostname, port } = new URL(url)
  const target = {
    host: hostname,
    port: Number(port),
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  }
  const socket: net.Socket = opts.tls
    ? tls.connect({ ...target, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] })
    : net.connect(target)
  const chunks: Buffer[] = []
  socket.on('error', () => {})
  const answered = new Promise<void>((resolve) => socket.once('data', () => resolve()))
  socket.on('data', (c: Buffer) => chunks.push(c))
  const closed = new Promise<Closed>((resolve) =>
    socket.once('close', () => resolve(parsed(Buffer.concat(chunks).toString()))),
  )
  const connected = new Promise<void>((resolve) =>
    socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve()),
  )
  return { socket, closed, connected, answered }
}

/** Fails the test when `p` has not settled within `ms` (the server would otherwise hold the connection forever). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms)
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}
