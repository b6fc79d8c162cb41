import path from 'node:path'
import { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import type { GatewayContext } from '../http/context.js'
import { SqliteStore } from '../store/sqlite.js'
import { ActiveRuns } from './active-runs.js'
import { EventLog } from './event-log.js'
import { RunManager } from './run-manager.js'

/** Builds the core: the store (crash recovery and retention run here), the agents, the run manager. */
export async function createGateway(config: Config, serverEnv: NodeJS.ProcessEnv): Promise<GatewayContext> {
  const store = new SqliteStore(path.join(config.DATA_DIR, 'agent-gateway.db'))
  const registry = AgentRegistry.fromConfig(config, serverEnv)
  const active = new ActiveRuns()
  const runs = new RunManager(store, new EventLog(store), registry, config, active)
  await runs.recover()
  await runs.startRetention()
  // Warm the probes (codex --version) so the first request does not pay for them.
  for (const driver of registry.list()) void driver.probe().catch(() => {})
  return { config, registry, active, store, runs }
}

/** Graceful stop of the core: no new runs, in-flight ones get the grace period, then are ended. */
export async function stopGateway(ctx: GatewayContext, graceMs: number): Promise<void> {
  ctx.runs.stopAccepting()
  await ctx.active.drain(graceMs)
  await ctx.runs.idle()
  await ctx.store.close()
}
