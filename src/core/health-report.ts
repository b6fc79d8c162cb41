import { accessSync, constants } from 'node:fs'
import type { GatewayContext } from './context.js'

/** GET /health's answer: every agent's probe, the store's readiness, runs in flight, the container engine. */
export async function healthReport(ctx: GatewayContext) {
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
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}
