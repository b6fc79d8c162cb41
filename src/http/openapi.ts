import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { forwardTo, onFirstUse } from './inner-app.js'
import { withoutFraming } from './no-framing.js'
import { registerRedoc } from './redoc.js'

/**
 * OpenAPI 3.1 generated from the routes' zod schemas: the document at /openapi.json, Swagger UI at /docs and
 * ReDoc at /redoc (both send the token the console saved).
 * Must be registered before the routes so it sees them: it records each one, and the documentation app
 * (http/docs-app.ts, an inner app built on the first request that needs it) describes them.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => {
    routes.push(route)
  })
  const docs = onFirstUse(async () => (await import('./docs-app.js')).buildDocsApp(routes, version))
  app.get('/openapi.json', { schema: { hide: true } }, async () => (await docs()).swagger())
  // swagger-ui redirects /docs/static/index.html to /docs/ only when no query follows; with one it
  // redirected to itself forever. Any query on that page is dropped here instead.
  // A callback hook (no promise per request); a redirect answers, so `done` is not called then.
  app.addHook('onRequest', (request, reply, done) => {
    if (/^\/docs\/static\/index\.html\?/.test(request.url)) return void reply.redirect('/docs/')
    done()
  })
  const inner = forwardTo(docs)
  // Swagger UI's answers may not be framed (no-framing.ts)
  const forward = (request: FastifyRequest, reply: FastifyReply) => inner(request, withoutFraming(reply))
  // Swagger UI's pages are open (they carry no data); its copies of the document are not. The router matches
  // the decoded path, so `/docs/%6Ason` reaches the /docs/json route here, never the open wildcard.
  const page = { schema: { hide: true }, config: { public: true } }
  app.get('/docs', page, forward)
  app.get('/docs/*', page, forward)
  app.get('/docs/json', { schema: { hide: true } }, forward)
  app.get('/docs/yaml', { schema: { hide: true } }, forward)
  registerRedoc(app)
}
