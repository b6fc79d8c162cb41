import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { docsMiss } from './docs-app.js'
import { registerRedoc } from './redoc.js'

/** Response headers of the documentation app that the gateway's own reply sets itself. */
const hopHeaders = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding'])

/**
 * OpenAPI 3.1 generated from the routes' zod schemas: the document at /openapi.json, Swagger UI at /docs and
 * ReDoc at /redoc (both send the token the console saved).
 * Must be registered before the routes so it sees them: it records each one, and the documentation app
 * (http/docs-app.ts, built on the first request that needs it) describes them. Its answers go out through the
 * gateway's reply, so the gateway's hooks (auth, request id, request log) and not-found answer apply as to
 * every route.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => {
    routes.push(route)
  })
  let docsApp: Promise<FastifyInstance> | undefined
  const docs = () => {
    docsApp ??= import('./docs-app.js').then((m) => m.buildDocsApp(routes, version))
    docsApp.catch(() => {
      docsApp = undefined // the next request tries again
    })
    return docsApp
  }
  app.get('/openapi.json', { schema: { hide: true } }, async () => (await docs()).swagger())
  // swagger-ui redirects /docs/static/index.html to /docs/ only when no query follows; with one it
  // redirected to itself forever. Any query on that page is dropped here instead.
  app.addHook('onRequest', async (request, reply) => {
    if (/^\/docs\/static\/index\.html\?/.test(request.url)) return reply.redirect('/docs/')
  })
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const res = await (await docs()).inject({
      // a HEAD is answered from the GET (the gateway's HEAD route drops the body and counts its length)
      method: request.method === 'HEAD' ? 'GET' : (request.method as 'GET'),
      url: request.url,
      headers: request.headers,
    })
    const miss = res.headers[docsMiss]
    if (miss === 'not-found') return reply.callNotFound()
    if (miss) throw new Error(`the documentation app failed on ${request.method} ${request.url}`)
    for (const [name, value] of Object.entries(res.headers))
      if (!hopHeaders.has(name) && value !== undefined) reply.header(name, value)
    reply.status(res.statusCode)
    // an empty body (a redirect, a 304) goes out as none, without the content-type a Buffer would get
    return res.rawPayload.length > 0 ? reply.send(res.rawPayload) : reply.send()
  }
  app.get('/docs', { schema: { hide: true } }, forward)
  app.get('/docs/*', { schema: { hide: true } }, forward)
  registerRedoc(app)
}
