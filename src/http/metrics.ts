import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { GatewayContext } from '../core/context.js'
import type { GatewayMetrics } from '../core/ops/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's metrics, for encoders that count streams and relayed events. */
    gatewayMetrics?: GatewayMetrics
  }
}

/** GET /metrics: Prometheus text format. Behind the API tokens (read scope) or METRICS_TOKEN (see auth.ts). */
export function metricsRoutes(ctx: GatewayContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
      reply.type(ctx.metrics.contentType).send(await ctx.metrics.text()),
    )
  }
}

export function decorateMetrics(app: FastifyInstance, metrics: GatewayMetrics): void {
  app.decorate('gatewayMetrics', metrics)
}
