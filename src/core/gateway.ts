import path from 'node:path'
import { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import { Redactor, secretValues } from '../process/secrets.js'
import { endOrphanedProcesses } from '../process/server-marker.js'
import { SqliteStore } from '../store/sqlite/sqlite-store.js'
import type { Store } from '../store/store.js'
import { ActiveRuns } from './active-runs.js'
import { ApprovalBroker } from './approvals.js'
import type { GatewayContext } from './context.js'
import { EventLog } from './event-log.js'
import { NodeMembership } from './node-membership.js'
import { GatewayMetrics } from './ops/metrics.js'
import { metricsTap } from './ops/metrics-tap.js'
import { sessionBudgetGate } from './ops/session-budget.js'
import { Webhooks } from './ops/webhooks.js'
import { RunManager } from './run-manager.js'
import { createRunner, usesContainers } from './runners.js'
import { SessionManager } from './session-manager.js'
import { type Managers, Tenancy } from './tenancy/tenancy.js'

/** Builds the core: the store (crash recovery and retention run here), the agents, the run manager. */
export async function createGateway(config: Config, serverEnv: NodeJS.ProcessEnv): Promise<GatewayContext> {
  const store = new SqliteStore(path.join(config.DATA_DIR, 'agent-gateway.db'))
  const runner = createRunner(config, serverEnv)
  const registry = AgentRegistry.fromConfig(config, serverEnv, runner)
  const active = new ActiveRuns()
  const log = new EventLog(store, undefined, new Redactor(secretValues(config, serverEnv)))
  const node = new NodeMembership(store)
  await node.join()
  const managersFor = (view: Store, agents: AgentRegistry, settings: Config): Managers => {
    const runs = new RunManager(view, log, agents, settings, active, node.id)
    const sessions = new SessionManager(view, log, agents, settings, active, node.id)
    const approvals = new ApprovalBroker(view, log, settings.APPROVAL_TIMEOUT_SECONDS * 1000, (id) =>
      sessions.refreshStatus(id),
    )
    sessions.approvals = approvals
    sessions.budgetGate = sessionBudgetGate(view, () => approvals)
    return { runs, sessions, approvals }
  }
  // These see every tenant's resources and are for the whole server: recovery, retention, shutdown.
  const { runs, sessions, approvals } = managersFor(store, registry, config)
  // Requests work in the scope of their token's tenant (untenanted tokens: scope null), core/tenancy/.
  const tenancy = new Tenancy({ store, config, serverEnv, registry, managers: managersFor })
  tenancy.scope(null)
  const metrics = new GatewayMetrics({
    store,
    runStats: () => tenancy.stats,
    // Queued runs are tracked from the start; what remains are the running runs and turns.
    inFlight: () => active.size - tenancy.stats.queued,
    pendingApprovals: () => approvals.pendingCount + tenancy.stats.pendingApprovals,
  })
  log.tap(metricsTap(metrics, store))
  const webhooks = new Webhooks(store, config, metrics)
  log.tap(webhooks.tap)
  // what a crashed server left running (session agents as well as runs) ends before anything new starts
  endOrphanedProcesses([...config.workspaceRoots, config.DATA_DIR, config.tenantsDir])
  // and so do the containers a crashed predecessor (same GATEWAY_INSTANCE) left
  if (usesContainers(config)) await runner.reclaim()
  // Only what lost nodes left unfinished is recovered: runs and sessions of live nodes are theirs.
  const lost = await node.lostNodes()
  await runs.recover(lost)
  const orphaned = await sessions.recover(lost)
  await approvals.recover(orphaned.map((s) => s.id))
  await runs.startRetention()
  webhooks.start()
  // Warm the default agent's probe (its --version) so the first /hello or /chat does not pay for it.
  void registry
    .find(config.AI_PROVIDER)
    ?.probe()
    .catch(() => {})
  return {
    config,
    registry,
    active,
    store,
    node,
    runs,
    sessions,
    approvals,
    metrics,
    webhooks,
    tenancy,
    tapEvents: (listener) => log.tap(listener),
    redactor: log.redactor,
  }
}

/** Graceful stop of the core: no new runs, in-flight ones get the grace period, then are ended. */
export async function stopGateway(ctx: GatewayContext, graceMs: number): Promise<void> {
  const scopes = ctx.tenancy.all()
  const managers = [{ runs: ctx.runs, sessions: ctx.sessions }, ...scopes]
  for (const m of managers) {
    m.runs.stopAccepting()
    m.sessions.stopAccepting()
  }
  await ctx.active.drain(graceMs)
  for (const m of managers) {
    await m.runs.idle()
    await m.sessions.idle()
  }
  await Promise.all(managers.map((m) => m.sessions.closeAll()))
  await ctx.registry.closeAll()
  for (const s of scopes) if (s.registry !== ctx.registry) await s.registry.closeAll()
  await ctx.webhooks.stop()
  await ctx.node.leave()
  await ctx.store.close()
}
