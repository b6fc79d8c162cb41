import { createRequire } from 'node:module'
import type { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { WarmPoolCounts } from '../../agents/driver.js'
import type { StoredEvent } from '../../protocol/events.js'
import { sessionState } from '../../protocol/policies.js'
import type { Store } from '../../store/store.js'
import { isStoreUnavailable } from '../../util/store-unavailable.js'
import type { ApprovalNotices } from './approval-notices.js'
import type { FencingNotices } from './fencing-notices.js'
import type { SessionNotices } from './session-notices.js'
import type { StoreNotices } from './store-notices.js'

/** What the gauges read when Prometheus scrapes (the live numbers the core already keeps). */
export interface MetricsSources {
  store: Store
  /** Takeovers, lost nodes and this node's own fence (several nodes on PostgreSQL). */
  fencing?: FencingNotices
  /** Answers of the gateway's own the store failed, approvals and states swept. */
  approvalNotices?: ApprovalNotices
  /** Sessions archived without their agent's own record. */
  sessionNotices?: SessionNotices
  /** Ends of runs and turns the store failed to record (tried again). */
  storeNotices?: StoreNotices
  /** Events (and store steps with theirs) of runs and turns held through a store outage now (EventLog.held). */
  heldEvents?: () => number
  /** About the bytes of runs' and turns' events appended and not yet stored (EventLog.pipedBytes). */
  pipedBytes?: () => number
  /** One-shot processes' events read and not yet taken by their runs, and how many such processes are not read now. */
  outputQueues?: () => { bytes: number; paused: number }
  runStats: () => { running: number; queued: number }
  inFlight: () => number
  pendingApprovals: () => number
  /** The agents that make things ahead for their one-shot runs, with their counts. */
  warmPools: () => { agent: string; counts: WarmPoolCounts }[]
}

export type ConnectionRefusal =
  | 'max_connections'
  | 'max_connections_per_client'
  | 'headers_timeout'
  | 'body_timeout'

export type WebhookOutcome = 'delivered' | 'failed_attempt' | 'gave_up' | 'refused'

/**
 * The gateway's Prometheus metrics, one registry per gateway (tests run several in one process).
 * Counters move from stored events (`observe`), the stream encoders and the webhook dispatcher; gauges are
 * read at scrape time. Node's default metrics include the event-loop delay (`nodejs_eventloop_lag_*`).
 * prom-client (with @opentelemetry/api, about 85 CommonJS files) is loaded on first use: the first run's end,
 * stream, webhook or scrape, never by an idle start.
 */
export class GatewayMetrics {
  private built: PromMetrics | undefined
  /**
   * Events stored so far, by type: every stored event is counted here (a Map's increment) and the counter shows
   * these totals at the scrape, not moved per event through prom-client's inc (a label hash, a label check and a
   * lookup by that string: about 1-2 % of a warm turn's main-thread CPU at 8 events a turn, session 22).
   */
  private readonly storedByType = new Map<string, number>()

  constructor(private readonly sources: MetricsSources) {}

  private get m(): PromMetrics {
    this.built ??= buildMetrics(this.sources, this.storedByType)
    return this.built
  }

  get registry(): Registry {
    return this.m.registry
  }

  /** Every stored event passes here (EventLog tap); run outcomes also need the run's agent and start. */
  observe(ev: StoredEvent, run?: { agent: string; createdAt: string }): void {
    this.storedByType.set(ev.type, (this.storedByType.get(ev.type) ?? 0) + 1)
    if (!run) return
    if (ev.type === 'run.queued') this.m.runsTotal.inc({ agent: run.agent, status: 'submitted' })
    if (ev.type === 'run.completed') {
      const labels = { agent: run.agent, status: ev.status }
      this.m.runsTotal.inc(labels)
      this.m.runDuration.observe(labels, Math.max(0, (Date.parse(ev.at) - Date.parse(run.createdAt)) / 1000))
    }
  }

  streamOpened(format: string): void {
    this.m.streamsOpen.inc({ format })
  }

  streamClosed(format: string): void {
    this.m.streamsOpen.dec({ format })
  }

  relayed(format: string): void {
    this.m.eventsRelayed.inc({ format })
  }

  /** A client connection the listener refused (MAX_CONNECTIONS[_PER_CLIENT]) or cut (HEADERS_TIMEOUT_SECONDS, BODY_IDLE_SECONDS: a body or a frame). */
  connectionRefused(reason: ConnectionRefusal): void {
    this.m.connectionsRefused.inc({ reason })
  }

  webhook(event: string, outcome: WebhookOutcome): void {
    this.m.webhookDeliveries.inc({ event, outcome })
  }

  text(): Promise<string> {
    return this.m.registry.metrics()
  }

  get contentType(): string {
    return this.m.registry.contentType
  }
}

interface PromMetrics {
  registry: Registry
  runsTotal: Counter<'agent' | 'status'>
  runDuration: Histogram<'agent' | 'status'>
  eventsRelayed: Counter<'format'>
  streamsOpen: Gauge<'format'>
  webhookDeliveries: Counter<'event' | 'outcome'>
  connectionsRefused: Counter<'reason'>
}

/** The registry and its metrics; prom-client is required here, on first use (a CommonJS package). */
function buildMetrics(sources: MetricsSources, storedByType: ReadonlyMap<string, number>): PromMetrics {
  const { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } = createRequire(import.meta.url)(
    'prom-client',
  ) as typeof import('prom-client')
  const registry = new Registry()
  const registers = [registry]
  // The event-loop delay is sampled every 50 ms (prom-client's default, 10 ms, woke an idle server 100 times a
  // second for about 4 ms of CPU per second): a block still delays the next sample, only fewer samples are taken.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 50 })
  const runsTotal = new Counter({
    name: 'agent_gateway_runs_total',
    help: 'Runs by agent and status: `submitted` when accepted, then the terminal status they ended with.',
    labelNames: ['agent', 'status'],
    registers,
  })
  const runDuration = new Histogram({
    name: 'agent_gateway_run_duration_seconds',
    help: 'Time from a run being accepted to it finishing, by agent and terminal status.',
    labelNames: ['agent', 'status'],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers,
  })
  new Gauge({
    name: 'agent_gateway_runs_queued',
    help: 'Runs waiting for a free slot (MAX_CONCURRENT_RUNS): the queue depth.',
    registers,
    collect() {
      this.set(sources.runStats().queued)
    },
  })
  new Gauge({
    name: 'agent_gateway_runs_running',
    help: 'One-shot runs executing now.',
    registers,
    collect() {
      this.set(sources.runStats().running)
    },
  })
  new Gauge({
    name: 'agent_gateway_running_processes',
    help: 'Agent runs and session turns in flight (each drives an agent process).',
    registers,
    collect() {
      this.set(sources.inFlight())
    },
  })
  new Gauge({
    name: 'agent_gateway_sessions',
    help: 'Sessions by state.',
    labelNames: ['state'],
    registers,
    async collect() {
      let counts: Awaited<ReturnType<Store['countSessions']>>
      try {
        counts = await sources.store.countSessions()
      } catch (err) {
        // its PostgreSQL server away: the scrape answers without the counts (no sample rather than stale ones),
        // with the rest (the outage's own metrics: a scrape then is when they matter)
        if (!isStoreUnavailable(err)) throw err
        this.reset()
        return
      }
      for (const state of sessionState.options) this.set({ state }, counts[state] ?? 0)
    },
  })
  new Gauge({
    name: 'agent_gateway_approvals_pending',
    help: 'Approvals waiting for an answer.',
    registers,
    collect() {
      this.set(sources.pendingApprovals())
    },
  })
  // Warm one-shot runs: what each agent made ahead (codex ready threads, ACP ready sessions) and what it served.
  new Gauge({
    name: 'agent_gateway_warm_waiting',
    help: 'Threads or sessions made ahead for the next one-shot runs, waiting for their run now, by agent.',
    labelNames: ['agent'],
    registers,
    collect() {
      for (const { agent, counts } of sources.warmPools()) this.set({ agent }, counts.waiting)
    },
  })
  const warmCounter = (name: string, help: string, count: (c: WarmPoolCounts) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['agent'],
      registers,
      collect() {
        // the pools count; the counter shows their totals as they are at the scrape
        this.reset()
        for (const { agent, counts } of sources.warmPools()) this.inc({ agent }, count(counts))
      },
    })
  // What the notices count (fencing across nodes on PostgreSQL, the approvals the gateway answers itself, the
  // sessions archived without their agent): the metrics show their totals at the scrape.
  const noticeCounter =
    <N>(notices: () => N | undefined) =>
    (name: string, help: string, count: (n: N) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset()
          const n = notices()
          if (n) this.inc(count(n))
        },
      })
  const fencingCounter = noticeCounter<FencingNotices>(() => sources.fencing)
  const approvalCounter = noticeCounter<ApprovalNotices>(() => sources.approvalNotices)
  fencingCounter(
    'agent_gateway_nodes_lost_total',
    'Nodes this node found dead (their liveness lock freed, or silent past NODE_TIMEOUT_SECONDS) and took for lost (their runs and sessions taken over).',
    (f) => f.nodesLost,
  )
  fencingCounter(
    'agent_gateway_takeovers_failed_total',
    "Takeovers of lost nodes' work that failed (the next check, every NODE_TIMEOUT_SECONDS/5, tries again).",
    (f) => f.takeoversFailed,
  )
  fencingCounter(
    'agent_gateway_sessions_let_go_total',
    'Sessions this node let go because another node took them over while this one was taken for dead.',
    (f) => f.sessionsLetGo,
  )
  fencingCounter(
    'agent_gateway_runs_let_go_total',
    'Runs whose agent this node stopped at their first event refused: another node took them over while this one was taken for dead.',
    (f) => f.runsLetGo,
  )
  fencingCounter(
    'agent_gateway_leftover_turns_failed_total',
    "Turns this node failed as it reopened their session: left queued or running in the store by the session's previous node, whose takeover had not ended them (a request reopened the session first).",
    (f) => f.leftoverTurnsFailed,
  )
  approvalCounter(
    'agent_gateway_approval_resolve_failures_total',
    "Attempts to record an answer of the gateway's own (timeout, turn ended) that the store failed (each is tried again a few times).",
    (n) => n.resolveFailures,
  )
  approvalCounter(
    'agent_gateway_approval_answers_found_total',
    'Answers given on another node whose signal never came to the node whose agent waited: found in the store there.',
    (n) => n.answersFoundInStore,
  )
  approvalCounter(
    'agent_gateway_approvals_swept_total',
    'Approvals found pending with nobody left to answer them (their turn gone, or overdue with no agent waiting) and cancelled by the sweep.',
    (n) => n.swept,
  )
  approvalCounter(
    'agent_gateway_session_states_recomputed_total',
    'Sessions found waiting_for_approval with no approval pending, whose state the sweep recomputed.',
    (n) => n.statesCorrected,
  )
  noticeCounter<SessionNotices>(() => sources.sessionNotices)(
    'agent_gateway_agent_archives_failed_total',
    "Sessions archived in the gateway whose agent could not archive its own record of them (it could not start, or its archive failed): the session's agentArchiveError says why.",
    (n) => n.agentArchivesFailed,
  )
  noticeCounter<StoreNotices>(() => sources.storeNotices)(
    'agent_gateway_end_store_failures_total',
    "Attempts to record a run's or a turn's end that the store failed (its disk full, its database down); each is tried again until stored or the gateway stops.",
    (n) => n.endFailures,
  )
  noticeCounter<StoreNotices>(() => sources.storeNotices)(
    'agent_gateway_store_outages_ridden_total',
    'PostgreSQL outages runs and turns rode over: their events refused before their transaction started were held and all stored once it took connections again (STORE_OUTAGE_GRACE_SECONDS).',
    (n) => n.outagesRidden,
  )
  noticeCounter<StoreNotices>(() => sources.storeNotices)(
    'agent_gateway_store_lock_waits_ridden_total',
    "Holds of runs' and turns' events through a lock another client of PostgreSQL held (55P03: an operator's or another node's open transaction, a LOCK TABLE) past the store's lock wait, all stored once it was let go; not outages (the server answered throughout).",
    (n) => n.lockWaitsRidden,
  )
  noticeCounter<StoreNotices>(() => sources.storeNotices)(
    'agent_gateway_store_outages_given_up_total',
    'PostgreSQL outages that outlasted STORE_OUTAGE_GRACE_SECONDS (or the gateway stopped during them): the runs and turns whose events were held failed.',
    (n) => n.outagesGivenUp,
  )
  new Gauge({
    name: 'agent_gateway_store_outage_held_events',
    help: "Events of runs and turns (and their store steps: a turn's row, a run's start) held now while the store refuses connections, waiting to be stored.",
    registers,
    collect() {
      this.set(sources.heldEvents?.() ?? 0)
    },
  })
  new Gauge({
    name: 'agent_gateway_events_in_flight_bytes',
    help: "About the bytes of runs' and turns' events appended and not yet stored (what a store outage holds in memory; past STORE_OUTAGE_HELD_MAX_BYTES their agents' output is no longer read).",
    registers,
    collect() {
      this.set(sources.pipedBytes?.() ?? 0)
    },
  })
  new Gauge({
    name: 'agent_gateway_agent_output_queued_bytes',
    help: "About the bytes of agent processes' events read and not yet taken by their runs and turns (a one-shot run's, or a codex app-server's or ACP agent's sessions' together: each process's at most 256 KiB, then its output is no longer read).",
    registers,
    collect() {
      this.set(sources.outputQueues?.().bytes ?? 0)
    },
  })
  new Gauge({
    name: 'agent_gateway_agent_output_paused',
    help: 'Agent processes whose output is not read now (one-shot runs, codex app-servers, ACP agents): their runs or turns have not taken what was read (their events wait for the store); the agent blocks on its write until they do.',
    registers,
    collect() {
      this.set(sources.outputQueues?.().paused ?? 0)
    },
  })
  new Gauge({
    name: 'agent_gateway_node_fenced',
    help: '1 once this node found it was taken for dead (paused or stalled past NODE_TIMEOUT_SECONDS) and fenced.',
    registers,
    collect() {
      this.set(sources.fencing?.fenced ? 1 : 0)
    },
  })
  warmCounter(
    'agent_gateway_warm_started_total',
    'Threads or sessions made ahead for one-shot runs, by agent.',
    (c) => c.started,
  )
  warmCounter(
    'agent_gateway_warm_served_total',
    'One-shot runs served by a thread or session made ahead (the rest started their own), by agent.',
    (c) => c.served,
  )
  /** A metric of this registry with its labels. */
  const labelled = <K extends string>(name: string, help: string, label: K) => ({
    name,
    help,
    labelNames: [label],
    registers,
  })
  new Counter({
    ...labelled('agent_gateway_events_total', 'Events stored (runs and sessions), by type.', 'type'),
    collect() {
      // GatewayMetrics counts them; the counter shows its totals as they are at the scrape
      this.reset()
      for (const [type, n] of storedByType) this.inc({ type }, n)
    },
  })
  const eventsRelayed = new Counter(
    labelled(
      'agent_gateway_events_relayed_total',
      'Events written to clients on event streams, by format.',
      'format',
    ),
  )
  const streamsOpen = new Gauge(
    labelled('agent_gateway_streams_open', 'Event streams open to clients now, by format.', 'format'),
  )
  const webhookDeliveries = new Counter({
    name: 'agent_gateway_webhook_deliveries_total',
    help: 'Webhook delivery attempts by event and outcome (delivered, failed_attempt, gave_up, refused).',
    labelNames: ['event', 'outcome'],
    registers,
  })
  const connectionsRefused = new Counter({
    name: 'agent_gateway_connections_refused_total',
    help: 'Client connections refused or cut by reason: `max_connections` (over MAX_CONNECTIONS), `max_connections_per_client` (one client over MAX_CONNECTIONS_PER_CLIENT), `headers_timeout` (no complete request head or protocol preface within HEADERS_TIMEOUT_SECONDS), `body_timeout` (a request body stalled: BODY_IDLE_SECONDS, BODY_MIN_BYTES_PER_SECOND; on HTTP/2 the stream; on /agent/stream and /agent/ws a frame).',
    labelNames: ['reason'],
    registers,
  })
  return {
    registry,
    runsTotal,
    runDuration,
    eventsRelayed,
    streamsOpen,
    webhookDeliveries,
    connectionsRefused,
  }
}
