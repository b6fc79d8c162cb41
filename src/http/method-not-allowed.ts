import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../protocol/errors.js'
import type { ErrorShape } from './errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How the path answers a method none of its routes has, instead of the 405 with Allow: seed 004's
     * /agent/stream, whose original answered any other method 404.
     */
    otherMethods?: (request: FastifyRequest, reply: FastifyReply) => void
  }
}

/**
 * What a path answers to other methods: the Allow header's methods and the 405's shape: its routes' error shape,
 * FastAPI's `{"detail":"Method Not Allowed"}` on the routes of a seed whose original was a FastAPI app.
 */
export interface OtherMethods {
  allow: string[]
  errorShape: ErrorShape
  provider?: string
  /** The route's own answer instead of the 405 (FastifyContextConfig.otherMethods). */
  answer?: (request: FastifyRequest, reply: FastifyReply) => void
}

interface RecordedRoute {
  method: string
  url: string
  config: FastifyContextConfig | undefined
}

/** RFC 9110's order is free; this one reads naturally (the safe methods first). */
const methodOrder = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/**
 * Records every route as it is registered (call before any route is), and answers, for a request no route
 * matched, which other methods its path has: the router itself is asked (`findRoute`, the same matching a
 * request gets), once per method some route uses; none when the path is unknown under every method.
 * A wildcard route (`/docs/*`, the console's folders) claims no path for itself: whether it has something at
 * a path is known only by serving it, so a path only a wildcard matches is a 404 under every method.
 * HEAD and OPTIONS are methods like the others: on a path of POST routes alone they are 405s (as FastAPI's).
 */
export function recordRoutes(app: FastifyInstance): (request: FastifyRequest) => OtherMethods | undefined {
  const routes: RecordedRoute[] = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      routes.push({ method: method.toUpperCase(), url: route.url, config: route.config })
  })
  return (request) => {
    const path = request.url.split('?', 1)[0] ?? ''
    const methods = [...new Set(routes.map((r) => r.method))]
    const found = methods.flatMap((method) => {
      const match = app.findRoute({ method: method as 'GET', url: path })
      const params = match?.params as Record<string, string> | undefined
      return params && params['*'] === undefined ? [{ method, params }] : []
    })
    // none, or the method is the path's own and the route itself answered not found (a page its inner app lacks)
    if (found.length === 0 || found.some((f) => f.method === request.method)) return undefined
    const allow = found.map((f) => f.method).sort((a, b) => rank(a) - rank(b))
    const config = routeOf(routes, found[0]!, path)?.config
    return {
      allow,
      errorShape: config?.framework ?? config?.errorShape ?? 'v1',
      ...(config?.provider ? { provider: config.provider } : {}),
      ...(config?.otherMethods ? { answer: config.otherMethods } : {}),
    }
  }
}

function rank(method: string): number {
  const at = methodOrder.indexOf(method)
  return at === -1 ? methodOrder.length : at
}

/** The recorded route the router matched: the one of that method whose pattern, with the params put in, is the path. */
function routeOf(
  routes: RecordedRoute[],
  found: { method: string; params: Record<string, string> },
  path: string,
): RecordedRoute | undefined {
  const filled = (url: string) => url.replace(/:(\w+)/g, (_, name: string) => found.params[name] ?? '')
  const candidates = routes.filter((r) => r.method === found.method)
  return (
    candidates.find((r) => filled(r.url) === decodeURIComponentSafe(path)) ??
    candidates.find((r) => filled(r.url) === path)
  )
}

function decodeURIComponentSafe(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

/** The 405 for a method the path lacks; FastAPI's routes answer its own words, `{"detail":"Method Not Allowed"}`. */
export function methodNotAllowed(method: string, path: string, other: OtherMethods): AppError {
  const message =
    other.errorShape === 'fastapi'
      ? 'Method Not Allowed'
      : `${method} is not a method of ${path}: it takes ${other.allow.join(', ')} (the routes are listed at /docs)`
  return new AppError('method_not_allowed', message, undefined)
}
