import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import { tokenStorageKey } from './docs-token.js'
import { withoutFraming } from './no-framing.js'

const bundlePath = createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js')

/**
 * ReDoc at /redoc, its standalone bundle served from node_modules (no CDN). The page fetches /openapi.json
 * with the token the console saved in this browser (a header, never a URL), then renders it. No other page may
 * frame it (no-framing.ts).
 */
export function registerRedoc(app: FastifyInstance): void {
  let bundle: Promise<Buffer> | undefined
  app.get('/redoc', { schema: { hide: true }, config: { public: true } }, async (_request, reply) =>
    withoutFraming(reply).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page),
  )
  app.get(
    '/redoc/redoc.standalone.js',
    { schema: { hide: true }, config: { public: true } },
    async (_request, reply) => {
      bundle ??= readFile(bundlePath)
      return withoutFraming(reply)
        .type('application/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=86400')
        .send(await bundle)
    },
  )
}

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>agent-gateway API reference</title>
<style>body{margin:0;font-family:system-ui,sans-serif}#problem{padding:16px}</style>
</head>
<body>
<div id="problem" role="alert" hidden></div>
<div id="redoc"></div>
<script src="/redoc/redoc.standalone.js"></script>
<script>
(async () => {
  const token = localStorage.getItem(${JSON.stringify(tokenStorageKey)})
  const res = await fetch('/openapi.json', { headers: token ? { authorization: 'Bearer ' + token } : {} })
  if (!res.ok) {
    const problem = document.getElementById('problem')
    problem.hidden = false
    problem.innerHTML = res.status === 401
      ? 'This gateway needs an API token: <a href="/">sign in on the console</a>, then reload this page.'
      : 'Could not load /openapi.json: HTTP ' + res.status
    return
  }
  Redoc.init(await res.json(), { hideDownloadButton: false }, document.getElementById('redoc'))
})()
</script>
</body>
</html>
`
