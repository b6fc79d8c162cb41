import { isIP } from 'node:net'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../protocol/errors.js'

/**
 * Without API_TOKENS nothing but the loopback bind keeps strangers out, and a browser on this machine is not
 * kept out by it: any page it shows can reach 127.0.0.1. So, while no token is asked for:
 * - the `Host` (HTTP/2 `:authority`) must be an IP address or `localhost` (or a name under it, which browsers
 *   resolve to loopback themselves): a page whose DNS name rebinds to 127.0.0.1 sends its own name, and its
 *   requests would otherwise be same-origin to the browser, answers readable;
 * - an `Origin` (browsers send it on every POST, every cross-origin request and every WebSocket upgrade) must be
 *   the gateway's own: a page of another origin could otherwise post frames to /agent/stream as `text/plain`
 *   (no preflight) or open /agent/ws (WebSockets know no CORS) and drive the agents.
 * - a `Sec-Fetch-Site` must be `same-origin` or `none` (typed by the user): a GET from another site (an image,
 *   a link) carries no Origin, and `GET /hello` starts agent work. A link to a page that holds no data (the
 *   console, the docs) may be followed, in the top window only (not framed: no clickjacking of the console).
 * With tokens these do not matter: a browser never adds a bearer token by itself.
 */
export function registerBrowserOriginGuard(app: FastifyInstance, tokensRequired: boolean): void {
  if (tokensRequired) return
  // A callback hook: the check is synchronous, so no promise per request.
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      checkBrowserOrigin(request)
    } catch (err) {
      return done(err as Error)
    }
    done()
  })
}

function checkBrowserOrigin(request: FastifyRequest): void {
  const raw = String(request.headers.host ?? request.headers[':authority'] ?? '')
  // Only a client that is not a browser sends no Host (HTTP/1.0; Node refuses HTTP/1.1 without one).
  if (raw === '') {
    if (request.headers.origin === undefined) return
    throw new AppError('forbidden', 'refused: a request with an Origin must name its Host')
  }
  const host = authorityOf(raw)
  if (host === undefined || !unrebindable(host.name))
    throw new AppError(
      'forbidden',
      `refused: Host "${raw}" is not an IP address or localhost. Without API_TOKENS the gateway ` +
        'answers only requests addressed to it by address or localhost (a page whose DNS name points at ' +
        'this machine must not reach it); set API_TOKENS to serve it under another name',
    )
  // Browsers send no Origin on a cross-site GET (an image, a link), but say where it came from here.
  const site = request.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none' && !openedFromALink(request))
    throw new AppError(
      'forbidden',
      `refused: Sec-Fetch-Site "${site}": without API_TOKENS a page of another origin must not drive the ` +
        'agents; set API_TOKENS to serve other origins',
    )
  const origin = request.headers.origin
  if (origin === undefined) return
  if (!sameOrigin(origin, host, request.protocol))
    throw new AppError(
      'forbidden',
      `refused: Origin "${origin}" is not this gateway's own. Without API_TOKENS a page of another origin ` +
        'must not drive the agents; set API_TOKENS to serve other origins',
    )
}

/** A link followed to a page that holds no data (the console, the docs): the top window, never a frame. */
function openedFromALink(request: FastifyRequest): boolean {
  return (
    request.routeOptions.config?.public === true &&
    (request.method === 'GET' || request.method === 'HEAD') &&
    request.headers['sec-fetch-mode'] === 'navigate' &&
    request.headers['sec-fetch-dest'] === 'document' &&
    request.headers.origin === undefined
  )
}

interface Authority {
  name: string
  port: string
}

/** The last Host read, and what it gave: a client sends the same one with every request. */
let lastHost: { raw: string; authority: Authority | undefined } | undefined

function authorityOf(raw: string): Authority | undefined {
  if (lastHost?.raw !== raw) lastHost = { raw, authority: parseAuthority(raw) }
  return lastHost.authority
}

function parseAuthority(raw: string): Authority | undefined {
  try {
    const url = new URL(`http://${raw}`)
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined
    return { name: bareName(url.hostname), port: url.port }
  } catch {
    return undefined
  }
}

/** Lower case, without a trailing dot or IPv6 brackets. */
function bareName(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[(.*)\]$/, '$1')
}

/** A name no DNS answer decides: an address, or localhost and the names under it. */
function unrebindable(name: string): boolean {
  return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')
}

const defaultPort: Record<string, string> = { 'http:': '80', 'https:': '443' }

function sameOrigin(origin: string, host: Authority, protocol: string): boolean {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false // `null` (a sandboxed frame, a file) and anything else that is not an origin
  }
  const scheme = `${protocol}:`
  if (url.protocol !== scheme) return false
  const port = (p: string) => p || defaultPort[scheme]
  return bareName(url.hostname) === host.name && port(url.port) === port(host.port)
}
