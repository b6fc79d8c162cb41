import type { FastifyPluginAsync } from 'fastify'
import type { GatewayContext } from '../core/context.js'
import { healthReport } from '../core/health-report.js'

/** GET /health: liveness plus readiness of the agents and the store. Open without a token. */
export function healthRoutes(ctx: GatewayContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/health', { config: { public: true } }, async () => healthReport(ctx))
  }
}
