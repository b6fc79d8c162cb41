import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { GatewayContext } from '../core/context.js'
import type { GatewayMetrics } from '../core/ops/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's metrics, for encoders that count streams and relayed events. */
    gatewayMetrics?: GatewayMetrics
  }
}

/**
 * GET /metrics: Prometheus text format, counts of the whole server. Behind METRICS_TOKEN or an untenanted API token
 * with `read`; a tenant's token is refused (403: it would learn the other tenants' activity; see auth.ts).
 */
export function metricsRoutes(ctx: GatewayContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', { schema: { hide: true }, config: { serverWide: true } }, async (_request, reply) =>
      reply.type(ctx.metrics.contentType).send(await ctx.metrics.text()),
    )
  }
}

export function decorateMetrics(app: FastifyInstance, metrics: GatewayMetrics): void {
  app.decorate('gatewayMetrics', metrics)
}
