import { outputQueues } from '../agents/held-output.js'
import { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import { KeyedRunner } from '../process/key-proxy/keyed-runner.js'
import { Redactor, secretValues } from '../process/secrets.js'
import { endOrphanedProcesses } from '../process/server-marker.js'
import type { Store } from '../store/store.js'
import { atClock } from '../util/clock-timer.js'
import { WakeSignal } from '../util/wake-signal.js'
import { ActiveRuns, endAfterAbortMs } from './active-runs.js'
import { ApprovalSweep, sweepIntervalMs } from './approval-sweep.js'
import { ApprovalBroker } from './approvals.js'
import { openBackend } from './backend.js'
import { ClusterSessions, forwardTimeoutMs } from './cluster-sessions.js'
import type { GatewayContext } from './context.js'
import { EventLog } from './event-log.js'
import { LostJobCheck, lostJobAgeMs } from './lost-job-check.js'
import { NodeCalls } from './node-calls.js'
import { NodeMembership } from './node-membership.js'
import { ApprovalNotices } from './ops/approval-notices.js'
import { FencingNotices } from './ops/fencing-notices.js'
import { LeftoverSweep } from './ops/leftover-sweep.js'
import { GatewayMetrics } from './ops/metrics.js'
import { metricsTap } from './ops/metrics-tap.js'
import { sessionBudgetGate } from './ops/session-budget.js'
import { SessionNotices } from './ops/session-notices.js'
import { StoreNotices } from './ops/store-notices.js'
import { Webhooks } from './ops/webhooks.js'
import { RunManager } from './run-manager.js'
import { startRunWorker } from './run-worker.js'
import { createRunner, keyProxyFor, usesContainers } from './runners.js'
import { serveSessionCalls } from './serve-session-calls.js'
import { SessionManager } from './session-manager.js'
import { type Managers, Tenancy } from './tenancy/tenancy.js'

/** How often a forwarded call's callee is looked at while the call is unanswered (at most; a heartbeat if less). */
const callLookMs = 1000
/** The first look, if the call is unanswered by then: a live callee takes a call within milliseconds. */
const firstCallLookMs = 250

/** Builds the core: the store (crash recovery and retention run here), the agents, the run manager. */
export async function createGateway(config: Config, serverEnv: NodeJS.ProcessEnv): Promise<GatewayContext> {
  const backend = await openBackend(config)
  const store = backend.store
  const redactor = new Redactor(secretValues(config, serverEnv))
  const keyProxy = config.MODEL_KEY_PROXY ? keyProxyFor(config, serverEnv, redactor) : undefined
  const runner = keyProxy
    ? new KeyedRunner(createRunner(config, serverEnv), keyProxy)
    : createRunner(config, serverEnv)
  const registry = AgentRegistry.fromConfig(config, serverEnv, runner)
  const active = new ActiveRuns()
  const timeoutMs = config.NODE_TIMEOUT_SECONDS * 1000
  const fencing = new FencingNotices()
  const approvalNotices = new ApprovalNotices()
  const sessionNotices = new SessionNotices()
  const storeNotices = new StoreNotices()
  // the ends the store refused (a full disk) are tried again at once when a write of it fits again
  const endWake = new WakeSignal()
  store.onSpaceBack(() => endWake.wake())
  const endRetry = { notices: storeNotices, wake: endWake }
  const node = new NodeMembership(
    store,
    config.GATEWAY_ROLE,
    { heartbeatMs: timeoutMs / 5, deadAfterMs: timeoutMs },
    fencing,
  )
  // Held for the node's life: when its process dies, the others see the lock free within a check (LockWatch).
  await node.join(await backend.openLock(node.id))
  const bus = await backend.openBus(node.id)
  const signals = await backend.openSignals(node.id)
  const queue = await backend.openQueue()
  const log = new EventLog(store, bus, redactor)
  // a run's and a turn's events ride over a brief store outage (only PostgreSQL's connections are refused so)
  log.outageGraceMs = () => config.STORE_OUTAGE_GRACE_SECONDS * 1000
  // what they may hold in memory meanwhile (their events in flight), in bytes beside the count
  log.maxPipedBytes = () => config.STORE_OUTAGE_HELD_MAX_BYTES
  log.outageNotices = {
    held: (err, graceMs) => storeNotices.eventsHeld(err, graceMs),
    gaveUp: (err, heldMs) => storeNotices.eventsGivenUp(err, heldMs),
    over: (heldMs, gaveUp, lockWaitOnly) => storeNotices.eventsStored(heldMs, gaveUp, lockWaitOnly),
  }
  // and are tried again as soon as the store answers a query again (anyone's), not after the rest of their wait
  store.onSpaceBack(() => log.storeBack())
  // With signals (PostgreSQL) a session lives on one node that runs agents; other nodes forward calls to it.
  // A call's callee is looked at (by its lock, as a request about to be forwarded is) a moment after the call, then
  // every heartbeat or second: one that died with the call unanswered is found within about a second of its
  // lock's release, and the call withdrawn if it never took it (ClusterSessions then does it where the session goes).
  const calls = signals
    ? new NodeCalls(node.id, signals, (id) => node.isLiveConfirmed(id), Math.min(timeoutMs / 5, callLookMs), {
        firstLookMs: firstCallLookMs,
        onUnanswered: (id) => node.noteUnanswered(id),
      })
    : undefined
  const managersFor = (
    view: Store,
    agents: AgentRegistry,
    settings: Config,
    tenant: string | null,
  ): Managers => {
    const runs = new RunManager(
      view,
      log,
      agents,
      settings,
      active,
      node.id,
      {
        role: config.GATEWAY_ROLE,
        membership: node,
        fencing,
        ...(queue ? { queue } : {}),
        ...(signals ? { signals, recoverLost: () => recoverLostFromNow() } : {}),
      },
      endRetry,
      tenant,
    )
    const sessions = calls
      ? new ClusterSessions(view, log, agents, settings, active, node.id, {
          membership: node,
          calls,
          recoverLost: () => recoverLostFromNow(),
          callTimeoutMs: forwardTimeoutMs(config.CODEX_REQUEST_TIMEOUT),
          tenant,
        })
      : new SessionManager(view, log, agents, settings, active, node.id)
    const approvals = new ApprovalBroker(
      view,
      log,
      settings.APPROVAL_TIMEOUT_SECONDS * 1000,
      (id) => sessions.refreshStatus(id),
      signals ? { node: node.id, signals } : undefined,
      { notices: approvalNotices },
    )
    sessions.approvals = approvals
    sessions.fencing = fencing
    sessions.notices = sessionNotices
    sessions.endRetry = endRetry
    sessions.budgetGate = sessionBudgetGate(view, () => approvals)
    return { runs, sessions, approvals }
  }
  // These see every tenant's resources and are for the whole server: recovery, retention, shutdown.
  const { runs, sessions, approvals } = managersFor(store, registry, config, null)
  // Requests work in the scope of their token's tenant (untenanted tokens: scope null), core/tenancy/.
  const tenancy = new Tenancy({ store, config, serverEnv, registry, managers: managersFor })
  tenancy.scope(null)
  // Calls forwarded by other nodes are done in the caller's tenant scope.
  if (calls) serveSessionCalls(calls, (tenant) => tenancy.scope(tenant).sessions as ClusterSessions)
  const metrics = new GatewayMetrics({
    store,
    fencing,
    approvalNotices,
    sessionNotices,
    storeNotices,
    heldEvents: () => log.held,
    pipedBytes: () => log.pipedBytes,
    outputQueues: () => outputQueues,
    runStats: () => tenancy.stats,
    // Queued runs are tracked from the start; what remains are the running runs and turns.
    inFlight: () => active.size - tenancy.stats.queued,
    pendingApprovals: () => approvals.pendingCount + tenancy.stats.pendingApprovals,
    warmPools: () =>
      registry
        .list()
        .flatMap((driver) => (driver.warmPool ? [{ agent: driver.id, counts: driver.warmPool }] : [])),
  })
  log.tap(metricsTap(metrics, store))
  const webhooks = new Webhooks(store, config, metrics)
  log.tap(webhooks.tap)
  // what a crashed server left running (session agents as well as runs) ends before anything new starts
  endOrphanedProcesses([...config.workspaceRoots, config.DATA_DIR, config.tenantsDir])
  // and so do the containers a crashed predecessor (same GATEWAY_INSTANCE) left
  if (usesContainers(config)) await runner.reclaim()
  // The directories a killed gateway left (temp dir, DATA_DIR/run-images) go later, in the background, once the
  // server listens (`leftovers.start`, http/server.ts): only those whose maker is gone.
  const leftovers = new LeftoverSweep(config.DATA_DIR)
  // Only what lost nodes left unfinished is recovered: runs and sessions of live nodes are theirs.
  await node.recoverLost(async (lost) => {
    await runs.recover(lost)
    await sessions.recover(lost, (s) => approvals.recover([s]))
  })
  await runs.startRetention()
  // A worker takes queued runs while it has room (MAX_CONCURRENT_RUNS for the node, all tenants together) and
  // runs each in its tenant's scope.
  if (config.GATEWAY_ROLE === 'worker' && queue)
    startRunWorker({
      queue,
      store,
      node: node.id,
      joins: () => node.joins,
      room: () => {
        if (!runs.isAccepting || node.isFencing) return 0
        const { running, queued } = tenancy.stats
        return config.MAX_CONCURRENT_RUNS - running - queued
      },
      runsOf: (tenant) => tenancy.scope(tenant).runs,
      notices: {
        failing: (err, unfinished) => storeNotices.queueFailing(err, unfinished),
        answering: (failures) => storeNotices.queueAnswering(failures),
      },
    })
  // A run whose job's send was lost (or whose API node died before it) is sent again, by one node at a time.
  const lostJobs = queue
    ? new LostJobCheck(
        queue,
        lostJobAgeMs(config.LOST_JOB_CHECK_SECONDS, config.STORE_QUERY_TIMEOUT_SECONDS),
        (ids) => storeNotices.jobsResent(ids),
        (err, everyMs) => storeNotices.lostJobCheckFailed(err, everyMs),
      )
    : undefined
  lostJobs?.start(config.LOST_JOB_CHECK_SECONDS * 1000)
  // Sharing the store, nodes die while this one runs: whoever notices first takes over their work (one pass
  // at a time; a session whose node died is also recovered on its next use).
  let recovering: Promise<void> | undefined
  const recoverLost = (): Promise<void> =>
    (recovering ??= node
      .recoverLost(async (gone) => {
        await runs.recover(gone, 'worker_lost')
        await sessions.recover(gone, (s) => approvals.recover([s]))
      })
      .then(() => {})
      .finally(() => {
        recovering = undefined
      }))
  // A pass that lists the nodes after this call (one in flight may have listed them before what the caller saw).
  const recoverLostFromNow = async (): Promise<void> => {
    await recovering?.catch(() => {})
    await recoverLost()
  }
  // Taken for dead by another node (stalled past NODE_TIMEOUT_SECONDS): what it took over stops here.
  node.onFenced(async () => {
    const scopes = [{ runs, sessions }, ...tenancy.all()]
    await Promise.all(scopes.flatMap((s) => [s.runs.dropTakenOver(), s.sessions.dropTakenOver()]))
  })
  // Approvals nobody can answer any more (their turn gone, their answer overdue with no agent here waiting) are
  // cancelled, and states left waiting for them recomputed, through the scope that holds the session.
  const managersNow = () => [{ sessions, approvals }, ...tenancy.all()]
  const approvalSweep = new ApprovalSweep({
    store,
    node: node.id,
    waitingHere: (id) => managersNow().some((m) => m.approvals.isWaiting(id)),
    collectAnswers: async (pending, answeredBefore) => {
      let handed = 0
      for (const m of managersNow()) handed += await m.approvals.collectAnswers(pending, answeredBefore)
      return handed
    },
    cancel: (id, by) => approvals.cancelUnattended(id, by),
    refresh: (id) =>
      (managersNow().find((m) => m.sessions.isLoaded(id))?.sessions ?? sessions).refreshStatus(id),
    notices: approvalNotices,
    graceMs: 5000,
  })
  approvalSweep.start(sweepIntervalMs(config.APPROVAL_TIMEOUT_SECONDS * 1000))
  const watch = backend.shared
    ? setInterval(() => void recoverLost().catch(() => {}), timeoutMs / 5)
    : undefined
  watch?.unref()
  // A check that finds a node's lock newly free looks again a moment later, not a whole interval later.
  // On Date.now()'s clock, as LockWatch judges: a plain timer may fire a millisecond before the look can confirm,
  // and the node would then be taken only at the next periodic check.
  let lookAgain: (() => void) | undefined
  node.onSuspect((afterMs) => {
    if (!watch || lookAgain) return
    lookAgain = atClock(Date.now() + afterMs, () => {
      lookAgain = undefined
      void recoverLostFromNow().catch(() => {})
    })
  })
  webhooks.start()
  // Start every agent's probe (a --version where the version cannot be read from a package.json) now, so that
  // the first /health, /hello or /chat finds it answered; /health never waits for one (see health-report.ts).
  for (const driver of registry.list()) void driver.probe().catch(() => {})
  const closeCluster = async () => {
    clearInterval(watch)
    lookAgain?.()
    await approvalSweep.stop()
    // what is queued on the log is stored and announced before the bus and the store close
    await log.drain()
    log.endSubscriptions()
    await lostJobs?.stop()
    await queue?.stop()
    await signals?.close()
    await bus.close()
    await keyProxy?.close()
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
    tenancy,
    log,
    tapEvents: (listener) => log.tap(listener),
    fencing,
    approvalNotices,
    sessionNotices,
    storeNotices,
    redactor: log.redactor,
    leftovers,
    closeCluster,
    ...(backend.abandon ? { abandonStore: backend.abandon } : {}),
  }
}

/** Graceful stop of the core: no new runs, in-flight ones get the grace period, then are ended. */
export async function stopGateway(ctx: GatewayContext, graceMs: number): Promise<void> {
  const scopes = ctx.tenancy.all()
  const sweeping = ctx.leftovers.stop()
  const managers = [{ runs: ctx.runs, sessions: ctx.sessions }, ...scopes]
  for (const m of managers) {
    m.runs.stopAccepting()
    m.sessions.stopAccepting()
  }
  // after the abort, a run or a session turn gets KILL_GRACE_MS (its SIGTERM then SIGKILL) and FORCE_END_AFTER_MS
  // more to end, as the HTTP close does (http/server.ts), before it is ended by force (its end recorded)
  await ctx.active.drain(graceMs, endAfterAbortMs(ctx.config))
  // what is left waits for the store (the runs' ends, the queued events' commits, pg-boss's fetch, leaving the
  // cluster): bounded, so that a server that hangs cannot hold the stop (and the process) for ever
  const bound = storeStopBound(ctx)
  try {
    for (const m of managers) {
      await m.runs.idle()
      await m.sessions.idle()
    }
    await Promise.all(managers.map((m) => m.sessions.closeAll()))
    await ctx.registry.closeAll()
    for (const s of scopes) if (s.registry !== ctx.registry) await s.registry.closeAll()
    await ctx.webhooks.stop()
    await sweeping
    // its connections destroyed by the bound, closing the queue fails: the stop goes on
    await ctx.closeCluster().catch((err: unknown) => ctx.storeNotices.stopFailed('closing the cluster', err))
    // a store that fails now (its disk full) keeps this node's record: the stop goes on, the store still closes (the
    // next start takes over what the record names, as a lost node's). Past the bound its connections are gone: the
    // removal is not tried (it failed "Cannot use a pool after calling end on the pool"), and one that was under
    // way when the bound passed failed for that reason, not the store's
    if (bound.passed()) ctx.storeNotices.nodeLeftAfterBound(bound.ms)
    else
      await ctx.node.leave().catch((err: unknown) => {
        if (bound.passed()) ctx.storeNotices.nodeLeftAfterBound(bound.ms)
        else ctx.storeNotices.stopFailed('removing this node', err)
      })
    await ctx.store.close()
  } finally {
    bound.clear()
  }
}

/**
 * After a stop ended its runs, how long it waits for the store's server (STORE_QUERY_TIMEOUT_SECONDS; 0: no bound):
 * past it every connection to the server is destroyed (abandonStore), so what waits on one fails and the stop ends,
 * and the COMMITs not answered are told as unknown. No bound without a server to wait for (SQLite). `passed()`:
 * whether the bound passed (the connections are gone).
 */
function storeStopBound(ctx: GatewayContext): { ms: number; passed(): boolean; clear(): void } {
  const abandon = ctx.abandonStore
  const ms = ctx.config.STORE_QUERY_TIMEOUT_SECONDS * 1000
  let passed = false
  const timer =
    abandon && ms > 0
      ? setTimeout(() => {
          passed = true
          ctx.storeNotices.storeAbandoned(ms, abandon().commitsUnknown)
        }, ms)
      : undefined
  return { ms, passed: () => passed, clear: () => clearTimeout(timer) }
}
