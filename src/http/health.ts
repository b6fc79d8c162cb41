import type { FastifyPluginAsync } from 'fastify'
import type { GatewayContext } from '../core/context.js'
import { healthReport } from '../core/health-report.js'
import { sendFastapiJson } from './compat/fastapi-content-type.js'

/** What seed 002's original named itself in its /health (`{"status":"healthy","service":"codex-streaming-api"}`). */
export const healthService = 'codex-streaming-api'

/**
 * GET /health: liveness plus readiness of the agents and the store. Open without a token. 503 with the same body
 * (`status: "unhealthy"`) while the store does not answer, its disk is full (`store.storageFull`) or DATA_DIR is
 * not writable, so a load balancer or a container's health check takes the node out. Seeds 002 and 003 had a
 * /health of their own, FastAPI's: the body starts with theirs (`status`, then seed 002's `service`) and says
 * `application/json` without a charset, as Starlette did.
 */
export function healthRoutes(ctx: GatewayContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/health', { config: { public: true } }, async (_req, reply) => {
      const { status, ...report } = await healthReport(ctx)
      const body = { status, service: healthService, ...report }
      return sendFastapiJson(reply.code(status === 'healthy' ? 200 : 503), body)
    })
  }
}
