import type { FastifyInstance } from 'fastify'

/**
 * The folders of the seed routes whose original was a FastAPI app (`config.framework`): /api/codex (seed 002),
 * /api/thread, /api/turn, /api/skills, /api/skills/config (seed 003). An unknown path in one (or the folder itself)
 * is answered as that original answered it, FastAPI's 404 `{"detail":"Not Found"}`, not with /v1's envelope.
 * A folder that another route also lives in (a /v1 route, the console's, `/docs/*`) is nobody's own: its unknown
 * paths stay the gateway's 404. Seed 000's routes (`/hello`, `/chat`) are at the root, which is everybody's.
 * Records every route as it is registered (call before any route is); the folders are worked out on first use.
 */
export function recordFrameworkFolders(app: FastifyInstance): (path: string) => 'fastapi' | undefined {
  const routes: { url: string; framework: string | undefined }[] = []
  app.addHook('onRoute', (route) => {
    routes.push({ url: route.url, framework: route.config?.framework })
  })
  let folders: string[] | undefined
  return (path) => {
    folders ??= ownFolders(routes)
    return folders.some((f) => path === f || path.startsWith(`${f}/`)) ? 'fastapi' : undefined
  }
}

function ownFolders(routes: { url: string; framework: string | undefined }[]): string[] {
  const folderOf = (url: string) => url.slice(0, url.lastIndexOf('/'))
  const candidates = new Set(routes.filter((r) => r.framework === 'fastapi').map((r) => folderOf(r.url)))
  const others = routes.filter((r) => r.framework !== 'fastapi').map((r) => r.url)
  return [...candidates].filter(
    (folder) => folder !== '' && !others.some((url) => url === folder || url.startsWith(`${folder}/`)),
  )
}
