import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ApiToken, Scope } from '../config/api-tokens.js'
import { AppError } from '../protocol/errors.js'
import { bearerFromSubprotocol } from './ws-bearer.js'

/** Who is calling: a named API token (its scopes, its tenant), or anyone when no tokens are configured. */
export interface Principal {
  name: string
  scopes: ReadonlySet<Scope>
  tenant: string | null
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal
  }
  interface FastifyContextConfig {
    /** The scope a route needs; default `read` for GET and HEAD, `run` for everything else. */
    scope?: Scope
    /** Open without a token: /health and the pages that carry no data (the console, the documentation pages). */
    public?: boolean
    /**
     * A public route whose answer says more to a token (GET /health): a bearer token sent is checked as on any
     * route (401 when it is none of API_TOKENS; any scope will do) and names the caller; none sent, the caller is
     * a stranger (see `seesTheWholeServer`).
     */
    tokenOptional?: boolean
    /** A WebSocket route: its upgrade may carry the token as the `bearer.<base64url>` subprotocol (ws-bearer.ts). */
    websocketBearer?: boolean
    /**
     * Data of the whole server (/metrics: every tenant's activity, counted): refused (403) to a tenant's token, which
     * sees its own tenant only; untenanted tokens with the route's scope and METRICS_TOKEN reach it.
     */
    serverWide?: boolean
  }
}

const everyScope: ReadonlySet<Scope> = new Set(['read', 'run', 'approve', 'admin'])
const anonymous: Principal = { name: 'client', scopes: everyScope, tenant: null }
/** Whoever sends no token to a public route while API_TOKENS is set: granted nothing. */
const stranger: Principal = { name: 'stranger', scopes: new Set(), tenant: null }
const metricsScraper: Principal = { name: 'metrics', scopes: new Set(['read']), tenant: null }

/**
 * Bearer tokens and their scopes. With API_TOKENS set every request but a public route's needs one of them (401
 * without, 403 when its scopes lack the route's, or it is a tenant's on a server-wide route); /metrics also takes
 * METRICS_TOKEN. A public route takes none (its caller is then the stranger), or, `tokenOptional`, a valid one.
 * Tokens are compared as SHA-256 digests with timingSafeEqual against every entry (constant time, any length) and
 * are never logged.
 */
export function registerAuth(app: FastifyInstance, tokens: readonly ApiToken[], metricsToken?: string): void {
  const entries = tokens.map((t) => ({ digest: digest(t.token), principal: principalOf(t) }))
  const metricsDigest = metricsToken ? digest(metricsToken) : undefined
  app.decorateRequest('principal', null as unknown as Principal)
  /** The API token whose digest is `given` (compared with every entry); 401 when none is. */
  const tokenHolder = (given: Buffer): Principal => {
    let found: Principal | undefined
    for (const e of entries) if (timingSafeEqual(e.digest, given)) found = e.principal
    if (!found)
      throw new AppError(
        'unauthorized',
        'invalid bearer token: it is none of the tokens the gateway accepts (API_TOKENS; METRICS_TOKEN on /metrics); send one of them as `Authorization: Bearer <token>`',
      )
    return found
  }
  const authenticate = (request: FastifyRequest): void => {
    request.principal = anonymous
    // Decided by the route the request was routed to, never by its raw URL: the router matches the decoded
    // path, so a URL test let `/docs/%6Ason` (the document behind /docs/json) through without a token.
    const route = request.routeOptions
    if (route.config?.public) {
      if (entries.length === 0) return
      request.principal = stranger
      // a token sent to /health is checked: a wrong or revoked one is the client's error to learn (401), not a
      // reason to answer it the stranger's short body as if it were right
      const sent = route.config.tokenOptional ? bearerToken(request) : undefined
      if (sent !== undefined) request.principal = tokenHolder(digest(sent))
      return
    }
    const isMetrics = route.url === '/metrics'
    if (entries.length === 0 && !(isMetrics && metricsDigest)) return
    const sent = bearerToken(request)
    if (sent === undefined)
      throw new AppError('unauthorized', 'missing bearer token: send `Authorization: Bearer <token>`')
    const given = digest(sent)
    if (isMetrics && metricsDigest && timingSafeEqual(metricsDigest, given)) {
      request.principal = metricsScraper
      return
    }
    const found = tokenHolder(given)
    const needed = requiredScope(request)
    if (!found.scopes.has(needed))
      throw new AppError('forbidden', `token "${found.name}" lacks the "${needed}" scope this request needs`)
    if (route.config?.serverWide && found.tenant !== null)
      throw new AppError(
        'forbidden',
        `token "${found.name}" is bound to tenant "${found.tenant}" and ${route.url} counts the whole server: use METRICS_TOKEN or an untenanted token`,
      )
    request.principal = found
  }
  // A callback hook: the check is synchronous, so no promise per request.
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      authenticate(request)
    } catch (err) {
      return done(err as Error)
    }
    done()
  })
}

function requiredScope(request: FastifyRequest): Scope {
  const configured = request.routeOptions.config?.scope
  if (configured) return configured
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'run'
}

/** The bearer token the request sends, if any (another scheme, e.g. a proxy's `Basic`, is none). */
function bearerToken(request: FastifyRequest): string | undefined {
  const header = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim()
  // WebSocket upgrades from browsers carry it as the `bearer.<base64url>` subprotocol (ws-bearer.ts), on a
  // WebSocket route only: elsewhere a request with `Upgrade: websocket` and that header passed with it as well.
  const token =
    header ??
    (request.routeOptions.config?.websocketBearer ? bearerFromSubprotocol(request.headers) : undefined)
  return token || undefined
}

/**
 * Whether the caller may read what only the operator should (GET /health's full report: the server's own agents,
 * every tenant's runs counted): anyone without API_TOKENS, else an untenanted token. Not a stranger, nor a
 * tenant's token, which sees its own tenant only (as /metrics refuses it).
 */
export function seesTheWholeServer(principal: Principal): boolean {
  return principal !== stranger && principal.tenant === null
}

function principalOf(t: ApiToken): Principal {
  return { name: t.name, scopes: t.scopes, tenant: t.tenant }
}

const digest = (token: string) => createHash('sha256').update(token).digest()
