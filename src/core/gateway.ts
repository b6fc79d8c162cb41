import { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import { Redactor, secretValues } from '../process/secrets.js'
import { endOrphanedProcesses } from '../process/server-marker.js'
import { ActiveRuns } from './active-runs.js'
import { ApprovalBroker } from './approvals.js'
import { openBackend } from './backend.js'
import { ClusterSessions } from './cluster-sessions.js'
import type { GatewayContext } from './context.js'
import { EventLog } from './event-log.js'
import { NodeCalls } from './node-calls.js'
import { NodeMembership } from './node-membership.js'
import { GatewayMetrics } from './ops/metrics.js'
import { metricsTap } from './ops/metrics-tap.js'
import { sessionBudgetGate } from './ops/session-budget.js'
import { Webhooks } from './ops/webhooks.js'
import { RunManager } from './run-manager.js'
import { createRunner, usesContainers } from './runners.js'
import { SessionManager } from './session-manager.js'

/** Builds the core: the store (crash recovery and retention run here), the agents, the run manager. */
export async function createGateway(config: Config, serverEnv: NodeJS.ProcessEnv): Promise<GatewayContext> {
  const backend = await openBackend(config)
  const store = backend.store
  const runner = createRunner(config, serverEnv)
  const registry = AgentRegistry.fromConfig(config, serverEnv, runner)
  const active = new ActiveRuns()
  const timeoutMs = config.NODE_TIMEOUT_SECONDS * 1000
  const node = new NodeMembership(store, config.GATEWAY_ROLE, {
    heartbeatMs: timeoutMs / 5,
    deadAfterMs: timeoutMs,
  })
  await node.join()
  const bus = await backend.openBus(node.id)
  const signals = await backend.openSignals(node.id)
  const queue = await backend.openQueue()
  const log = new EventLog(store, bus, new Redactor(secretValues(config, serverEnv)))
  const runs = new RunManager(store, log, registry, config, active, node.id, {
    role: config.GATEWAY_ROLE,
    membership: node,
    ...(queue ? { queue } : {}),
    ...(signals ? { signals } : {}),
  })
  // With signals (PostgreSQL) a session lives on one node that runs agents; other nodes forward to it.
  const sessions = signals
    ? new ClusterSessions(store, log, registry, config, active, node.id, {
        membership: node,
        calls: new NodeCalls(node.id, signals, (id) => node.isLive(id), timeoutMs / 5),
        recoverLost: () => recoverLost(),
        callTimeoutMs: config.CODEX_REQUEST_TIMEOUT * 1000,
      })
    : new SessionManager(store, log, registry, config, active, node.id)
  const approvals = new ApprovalBroker(
    store,
    log,
    config.APPROVAL_TIMEOUT_SECONDS * 1000,
    (id) => sessions.refreshStatus(id),
    signals ? { node: node.id, signals } : undefined,
  )
  sessions.approvals = approvals
  sessions.budgetGate = sessionBudgetGate(store, () => approvals)
  const metrics = new GatewayMetrics({
    store,
    runStats: () => runs.stats,
    // Queued runs are tracked from the start; what remains are the running runs and turns.
    inFlight: () => active.size - runs.stats.queued,
    pendingApprovals: () => approvals.pendingCount,
  })
  log.tap(metricsTap(metrics, store))
  const webhooks = new Webhooks(store, config, metrics)
  log.tap(webhooks.tap)
  // what a crashed server left running (session agents as well as runs) ends before anything new starts
  endOrphanedProcesses([...config.workspaceRoots, config.DATA_DIR])
  // and so do the containers a crashed predecessor (same GATEWAY_INSTANCE) left
  if (usesContainers(config)) await runner.reclaim()
  // Only what lost nodes left unfinished is recovered: runs and sessions of live nodes are theirs.
  const lost = await node.lostNodes()
  await runs.recover(lost)
  const orphaned = await sessions.recover(lost)
  await approvals.recover(orphaned.map((s) => s.id))
  await runs.startRetention()
  if (config.GATEWAY_ROLE === 'worker') runs.startWorking()
  // Sharing the store, nodes die while this one runs: whoever notices first takes over their work (one pass
  // at a time; a session whose node died is also recovered on its next use).
  let recovering: Promise<void> | undefined
  const recoverLost = (): Promise<void> =>
    (recovering ??= (async () => {
      const gone = await node.lostNodes()
      if (gone.length === 0) return
      await runs.recover(gone, 'worker_lost')
      const moved = await sessions.recover(gone)
      await approvals.recover(moved.map((s) => s.id))
    })().finally(() => {
      recovering = undefined
    }))
  const watch = backend.shared
    ? setInterval(() => void recoverLost().catch(() => {}), timeoutMs / 5)
    : undefined
  watch?.unref()
  webhooks.start()
  // Warm the default agent's probe (its --version) so the first /hello or /chat does not pay for it.
  void registry
    .find(config.AI_PROVIDER)
    ?.probe()
    .catch(() => {})
  const closeCluster = async () => {
    clearInterval(watch)
    await queue?.stop()
    await signals?.close()
    await bus.close()
  }
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
    tapEvents: (listener) => log.tap(listener),
    redactor: log.redactor,
    closeCluster,
  }
}

/** Graceful stop of the core: no new runs, in-flight ones get the grace period, then are ended. */
export async function stopGateway(ctx: GatewayContext, graceMs: number): Promise<void> {
  ctx.runs.stopAccepting()
  ctx.sessions.stopAccepting()
  await ctx.active.drain(graceMs)
  await ctx.runs.idle()
  await ctx.sessions.idle()
  await ctx.sessions.closeAll()
  await ctx.registry.closeAll()
  await ctx.webhooks.stop()
  await ctx.closeCluster()
  await ctx.node.leave()
  await ctx.store.close()
}
