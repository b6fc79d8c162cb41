import type { AgentDriver } from '../agents/driver.js'
import { settledWithin } from '../util/settled-within.js'
import { probeWrite } from '../util/write-probe.js'
import type { GatewayContext } from './context.js'

/**
 * GET /health's answer: every agent's probe, the store's readiness, runs in flight, the container engine.
 * It never waits for an agent's probe (a CLI's `--version` can take a second): an agent whose probe has not
 * answered yet is reported as `checking` (installed and authenticated unknown, null), and the probe goes on,
 * so a later /health reports its result. The gateway starts every probe at boot.
 */
export async function healthReport(ctx: GatewayContext) {
  const agents = await Promise.all(ctx.registry.list().map(agentHealth))
  const ready =
    (await settledWithin(
      ctx.store.ping().catch(() => false),
      storePingMs,
    )) ?? false
  const dataDir = { dir: ctx.config.DATA_DIR, error: probeWrite(ctx.config.DATA_DIR, 'health-probe') }
  // the store's disk full (its writes refused): PostgreSQL's SELECT 1 still answers then, and DATA_DIR is this
  // node's disk, not the server's. SQLite's is DATA_DIR's: it takes the probe just made (before, it wrote one
  // more of its own, a second probe file per /health)
  const storageFull =
    ready &&
    ((await settledWithin(
      ctx.store.storageFull(dataDir).catch(() => false),
      storePingMs,
    )) ??
      false)
  const store = { kind: ctx.store.kind, ready, dataDirWritable: dataDir.error === undefined, storageFull }
  const containers = (await ctx.registry.runner.describe()).container ?? null
  const runs = { running: ctx.tenancy.stats.running, queued: ctx.tenancy.stats.queued }
  // unhealthy (answered 503, http/health.ts) while nothing can be stored: a run or turn accepted now would fail
  const status: 'healthy' | 'unhealthy' =
    ready && store.dataDirWritable && !storageFull ? 'healthy' : 'unhealthy'
  return { status, agents, store, runs, containers }
}

/** How long /health waits for the store's `SELECT 1` (a PostgreSQL server that stopped answering): then not ready. */
const storePingMs = 2000

export type AgentHealthState = 'checking' | 'ready' | 'not_installed' | 'not_authenticated'

async function agentHealth(driver: AgentDriver) {
  const s = await settledNow(driver.probe())
  if (s === undefined)
    return {
      id: driver.id,
      state: 'checking' as AgentHealthState,
      installed: null,
      authenticated: null,
      version: null,
    }
  const state: AgentHealthState = !s.installed
    ? 'not_installed'
    : !s.authenticated
      ? 'not_authenticated'
      : 'ready'
  return { id: driver.id, state, installed: s.installed, authenticated: s.authenticated, version: s.version }
}

/**
 * What a promise settles to within this turn of the event loop (a remembered probe answers at once), or
 * undefined when it is still pending (a probe that is running a process); its rejection is rethrown.
 */
function settledNow<T>(promise: Promise<T>): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)))])
}
