import http from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import { proxyAuthorization } from './egress.js'

/**
 * How an agent's connection reaches its upstream: `direct`; `forward`, an http upstream's requests in absolute
 * form to the egress proxy; `tunnel`, a CONNECT tunnel through the egress proxy (an https upstream, TLS inside;
 * a websocket upgrade to an http upstream, which many proxies refuse in absolute form).
 */
export type Via = { kind: 'direct' } | { kind: 'forward' | 'tunnel'; proxy: URL }

const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '')

/** TLS sessions by upstream, so a new connection resumes instead of a full handshake. */
const sessions = new Map<string, Buffer>()

/** A connection to `upstream` (TLS for https) as `via` says, resolved once it can carry the request. */
export async function connectUpstream(upstream: URL, via: Via): Promise<net.Socket> {
  const secure = upstream.protocol === 'https:'
  const host = bare(upstream.hostname)
  const port = Number(upstream.port) || (secure ? 443 : 80)
  if (via.kind === 'forward') return plain(bare(via.proxy.hostname), Number(via.proxy.port) || 80)
  const raw = via.kind === 'tunnel' ? await tunnel(via.proxy, host, port) : undefined
  if (!secure) return raw ?? plain(host, port)
  const key = `${host}:${port}`
  const socket = tls.connect({
    host,
    port,
    ...(raw ? { socket: raw } : {}),
    ...(net.isIP(host) ? {} : { servername: host }),
    ...(sessions.has(key) ? { session: sessions.get(key) } : {}),
  })
  socket.on('session', (session: Buffer) => sessions.set(key, session))
  socket.setNoDelay(true)
  return settled(socket, 'secureConnect')
}

function plain(host: string, port: number): Promise<net.Socket> {
  const socket = net.connect({ host, port })
  socket.setNoDelay(true)
  return settled(socket, 'connect')
}

function settled(socket: net.Socket, ready: 'connect' | 'secureConnect'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => {
      socket.destroy()
      reject(err)
    }
    socket.once('error', failed)
    socket.once(ready, () => {
      socket.off('error', failed)
      resolve(socket)
    })
  })
}

/** A CONNECT tunnel through `proxy` to host:port. */
function tunnel(proxy: URL, host: string, port: number): Promise<net.Socket> {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`
  return new Promise((resolve, reject) => {
    const req = http.request({
      hostname: bare(proxy.hostname),
      port: Number(proxy.port) || 80,
      method: 'CONNECT',
      path: target,
      headers: { host: target, ...proxyAuthorization(proxy) },
      agent: false,
    })
    req.once('connect', (answer, socket, head) => {
      if (answer.statusCode !== 200) {
        socket.destroy()
        reject(new Error(`the egress proxy answered CONNECT ${target} with ${answer.statusCode}`))
        return
      }
      if (head.length) socket.unshift(head)
      socket.setNoDelay(true)
      resolve(socket)
    })
    req.once('error', reject)
    req.end()
  })
}
