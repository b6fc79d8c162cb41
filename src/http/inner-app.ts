import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import Fastify from 'fastify'

/**
 * An inner app: a Fastify instance that never listens, built on the first request that needs it, for what an
 * idle server should not load (the documentation stack, the console's static files). The gateway's routes
 * forward to it with `inject` and send its answer through their own reply, so the gateway's hooks (auth,
 * request id, request log), not-found answer and error handler apply as to every other route.
 */

/** The header an inner app's not-found and error handlers mark their answers with. */
const innerMiss = 'x-agent-gateway-inner-miss'

/** Response headers of the inner app that the gateway's own reply sets itself. */
const hopHeaders = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding'])

/** Inner routes are never validated nor serialized by a schema: no compilers (and so no ajv) at all. */
const noCompilers = {
  compilersFactory: {
    buildValidator: () => () => () => true,
    buildSerializer: () => () => (data: unknown) => JSON.stringify(data),
  },
} as unknown as FastifyServerOptions['schemaController']

/** A new inner app: no logger, no HEAD routes of its own (a HEAD is forwarded as a GET), marked misses. */
export function innerApp(): FastifyInstance {
  const inner = Fastify({ logger: false, exposeHeadRoutes: false, schemaController: noCompilers })
  inner.setNotFoundHandler((_request, reply) => {
    reply.header(innerMiss, 'not-found').status(404).send()
  })
  inner.setErrorHandler((_error, _request, reply) => {
    reply.header(innerMiss, 'error').status(500).send()
  })
  return inner
}

/** Builds the inner app once, on the first call; a build that failed is tried again on the next. */
export function onFirstUse(build: () => Promise<FastifyInstance>): () => Promise<FastifyInstance> {
  let built: Promise<FastifyInstance> | undefined
  return () => {
    if (!built) {
      built = build()
      built.catch(() => {
        built = undefined
      })
    }
    return built
  }
}

/**
 * Whether `inject` would hand the inner app the same path the gateway routed (and authenticated) this request
 * by. It parses the URL as WHATWG does: dot segments (`.`, `..`, `%2e`) are resolved, `\` is read as `/`, a
 * fragment is cut, none of which the gateway's router does; so `/docs/./json`, matched by an open `/docs/*`,
 * reached the inner /docs/json.
 */
export function samePathInside(url: string): boolean {
  const raw = url.split('?', 1)[0] ?? ''
  try {
    return new URL(url, 'http://localhost').pathname === raw
  } catch {
    return false
  }
}

/** A route handler that answers with what the inner app answers to the same request. */
export function forwardTo(inner: () => Promise<FastifyInstance>) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!samePathInside(request.url)) return reply.callNotFound()
    const res = await (await inner()).inject({
      // a HEAD is answered from the GET (the gateway's HEAD route drops the body and counts its length)
      method: request.method === 'HEAD' ? 'GET' : (request.method as 'GET'),
      url: request.url,
      headers: request.headers,
    })
    const miss = res.headers[innerMiss]
    if (miss === 'not-found') return reply.callNotFound()
    if (miss) throw new Error(`the inner app failed on ${request.method} ${request.url}`)
    for (const [name, value] of Object.entries(res.headers))
      if (!hopHeaders.has(name) && value !== undefined) reply.header(name, value)
    reply.status(res.statusCode)
    // an empty body (a redirect, a 304) goes out as none, without the content-type a Buffer would get
    return res.rawPayload.length > 0 ? reply.send(res.rawPayload) : reply.send()
  }
}
