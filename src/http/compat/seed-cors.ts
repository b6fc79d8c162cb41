import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's original answered pages of any origin (Starlette's CORSMiddleware with `allow_origins=["*"]`:
     * seeds 002 and 003): with API_TOKENS set, so are the gateway's (`registerSeedCors`).
     */
    anyOrigin?: true
  }
}

/**
 * CORS on the routes of seeds 002 and 003, whose FastAPI originals let a page of any origin call them
 * (`allow_origins=["*"]`, every method and header), so that their browser clients served from elsewhere (a page
 * on another port calling `fetch(BASE_URL + '/api/thread/start')`, as seed 003's README does) keep working.
 *
 * Only while API_TOKENS is set: every request then needs `Authorization: Bearer`, which a browser never adds by
 * itself (the gateway has no cookie and no other ambient credential), so a page can do cross-origin only what
 * its user handed it a token for. Without tokens the browser-origin guard (browser-origin.ts) refuses another
 * origin outright, and nothing here answers: a page must never reach an open gateway.
 * - A response of such a route to a request with an `Origin` (its errors and the 401 included, so the page can
 *   read why) says `Access-Control-Allow-Origin: *`. Never `Access-Control-Allow-Credentials`: the original's
 *   `allow_credentials=True` echoed the origin of a request carrying cookies, which the gateway has no use for.
 * - A preflight (OPTIONS with `Origin` and `Access-Control-Request-Method`) of such a path is answered before
 *   the token check (browsers send none with it), as Starlette answered it: 200 `OK`, the methods the path
 *   serves, the headers asked for, `Access-Control-Max-Age: 600`. It runs nothing and names only a documented
 *   seed path; every other OPTIONS stays what it was (401 without a token, else a 405 with Allow).
 * Register before the token check and before any route (it records the routes that ask for it).
 */
export function registerSeedCors(app: FastifyInstance, tokensRequired: boolean): void {
  const methodsOf = new Map<string, string[]>()
  app.addHook('onRoute', (route) => {
    if (!route.config?.anyOrigin) return
    const methods = methodsOf.get(route.url) ?? []
    for (const m of [route.method].flat())
      if (!methods.includes(m.toUpperCase())) methods.push(m.toUpperCase())
    methodsOf.set(route.url, methods)
  })
  if (!tokensRequired) return
  // A callback hook: the check is synchronous, so no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.headers.origin === undefined) return done()
    const asked = request.headers['access-control-request-method']
    if (request.method === 'OPTIONS' && asked !== undefined) {
      const methods = methodsOf.get(request.url.split('?', 1)[0] ?? '')
      if (!methods) return done()
      const headers = request.headers['access-control-request-headers']
      reply
        .code(200)
        .headers({
          'access-control-allow-origin': '*',
          'access-control-allow-methods': methods.join(', '),
          ...(headers ? { 'access-control-allow-headers': headers } : {}),
          'access-control-max-age': '600',
        })
        .type('text/plain; charset=utf-8')
        .send('OK')
      return
    }
    // On the raw response, so a streamed (hijacked) reply sends it too.
    if (request.routeOptions.config?.anyOrigin) reply.raw.setHeader('access-control-allow-origin', '*')
    done()
  })
}
