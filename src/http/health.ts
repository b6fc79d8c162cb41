import type { FastifyPluginAsync } from 'fastify'
import type { GatewayContext } from '../core/context.js'
import { healthReport } from '../core/health-report.js'

/**
 * GET /health: liveness plus readiness of the agents and the store. Open without a token. 503 with the same body
 * (`status: "unhealthy"`) while the store does not answer or DATA_DIR is not writable, so a load balancer or a
 * container's health check takes the node out.
 */
export function healthRoutes(ctx: GatewayContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/health', { config: { public: true } }, async (_req, reply) => {
      const report = await healthReport(ctx)
      return reply.code(report.status === 'healthy' ? 200 : 503).send(report)
    })
  }
}
