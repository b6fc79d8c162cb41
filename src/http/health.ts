import { accessSync, constants } from 'node:fs'
import type { FastifyPluginAsync } from 'fastify'
import type { GatewayContext } from '../core/context.js'

/** GET /health: liveness plus readiness of the agents and the store. Open without a token. */
export function healthRoutes(ctx: GatewayContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/health', async () => {
      const agents = await Promise.all(
        ctx.registry.list().map(async (d) => {
          const s = await d.probe()
          return { id: d.id, installed: s.installed, authenticated: s.authenticated, version: s.version }
        }),
      )
      const ready = await ctx.store.ping().catch(() => false)
      const store = { kind: ctx.store.kind, ready, dataDirWritable: writable(ctx.config.DATA_DIR) }
      const containers = (await ctx.registry.runner.describe()).container ?? null
      const runs = { running: ctx.tenancy.stats.running, queued: ctx.tenancy.stats.queued }
      return { status: 'healthy', agents, store, runs, containers }
    })
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}
