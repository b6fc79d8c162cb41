import type { FastifyPluginAsync } from 'fastify'
import type { GatewayContext } from '../core/context.js'
import { healthReport } from '../core/health-report.js'
import { seesTheWholeServer } from './auth.js'
import { sendFastapiJson } from './compat/fastapi-content-type.js'

/** What seed 002's original named itself in its /health (`{"status":"healthy","service":"codex-streaming-api"}`). */
export const healthService = 'codex-streaming-api'

/**
 * GET /health: liveness plus readiness of the agents and the store. Open without a token. 503 with the same body
 * (`status: "unhealthy"`) while the store does not answer, its disk is full (`store.storageFull`) or DATA_DIR is
 * not writable, so a load balancer or a container's health check takes the node out. Seeds 002 and 003 had a
 * /health of their own, FastAPI's: the body starts with theirs (`status`, then seed 002's `service`, then seed
 * 003's `codex_alive`) and says `application/json` without a charset, as Starlette did.
 *
 * Who sees what: with API_TOKENS set, a request without a token gets those three fields only (what a load
 * balancer and the seeds' clients read; the rest told anyone who reaches the port the agents' versions and sign-in
 * state and the node's activity), a tenant's token the same (the report is the server's: its own agents, every
 * tenant's runs, as /metrics is refused to it); an untenanted token, or anyone without API_TOKENS, the full report.
 * A wrong token sent is a 401 (auth.ts), never taken for none.
 *
 * `codex_alive`: seed 003's original answered `{"status": "healthy", "codex_alive": <its app-server process
 * runs>}` (its README showed only `status`). It is one more field of a body that already has many seed 002's
 * original never sent (`agents`, `store`, ...): a client of seed 002 reads `status` (and `service`) and is not
 * disturbed, one of seed 003 that reads `codex_alive` finds it. Its closest meaning here: codex can be started,
 * i.e. its probe found it installed (false while the probe still runs, right after start, and when codex is not
 * an agent here); signed in or not is `agents[]`'s, as the original's process ran without credentials too.
 */
export function healthRoutes(ctx: GatewayContext): FastifyPluginAsync {
  // the body depends on the token only when tokens are configured: a cache must not answer one with the other's
  const varies = ctx.config.apiTokens.length > 0
  return async (app) => {
    app.get('/health', { config: { public: true, tokenOptional: true } }, async (request, reply) => {
      const { status, ...report } = await healthReport(ctx)
      const codexAlive = report.agents.some((a) => a.id === 'codex' && a.installed === true)
      const short = { status, service: healthService, codex_alive: codexAlive }
      const body = seesTheWholeServer(request.principal) ? { ...short, ...report } : short
      if (varies) reply.header('vary', 'authorization')
      return sendFastapiJson(reply.code(status === 'healthy' ? 200 : 503), body)
    })
  }
}
