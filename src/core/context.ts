import type { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import type { Redactor } from '../process/secrets.js'
import type { StoredEvent } from '../protocol/events.js'
import type { Store } from '../store/store.js'
import type { ActiveRuns } from './active-runs.js'
import type { ApprovalBroker } from './approvals.js'
import type { EventLog } from './event-log.js'
import type { NodeMembership } from './node-membership.js'
import type { ApprovalNotices } from './ops/approval-notices.js'
import type { FencingNotices } from './ops/fencing-notices.js'
import type { LeftoverSweep } from './ops/leftover-sweep.js'
import type { GatewayMetrics } from './ops/metrics.js'
import type { SessionNotices } from './ops/session-notices.js'
import type { StoreNotices } from './ops/store-notices.js'
import type { Webhooks } from './ops/webhooks.js'
import type { RunManager } from './run-manager.js'
import type { SessionManager } from './session-manager.js'
import type { Tenancy } from './tenancy/tenancy.js'

/** What every surface gets: settings, the agents, the runs. Surfaces never spawn. */
export interface GatewayContext {
  config: Config
  registry: AgentRegistry
  active: ActiveRuns
  store: Store
  node: NodeMembership
  /** Stops watching other nodes, stores what is queued on the EventLog, closes the queue, signals and bus connections. */
  closeCluster(): Promise<void>
  /**
   * Destroys every connection to the store's server (a stop that waited for it past its bound: it does not answer);
   * the COMMITs sent and not answered then, whose outcome is unknown. Undefined with SQLite.
   */
  abandonStore?(): { commitsUnknown: number }
  runs: RunManager
  sessions: SessionManager
  approvals: ApprovalBroker
  /** Replaces the gateway's secret values in anything sent to a client or a log. */
  redactor: Redactor
  metrics: GatewayMetrics
  webhooks: Webhooks
  /**
   * What a request may see and do: `tenancy.scope(principal.tenant)` (its own runs, sessions, approvals and
   * agents). `runs`, `sessions` and `approvals` above span every tenant: for the server itself, never a request.
   */
  tenancy: Tenancy
  /** What fencing across nodes tells an operator (metrics; log lines once the HTTP layer attaches its logger). */
  fencing: FencingNotices
  /** What the approval broker and its sweep tell an operator (failed answers retried, approvals swept). */
  approvalNotices: ApprovalNotices
  /** What the session manager tells an operator (a session archived without its agent's own record). */
  sessionNotices: SessionNotices
  /** What a run's or a turn's end the store failed to record tells an operator (tried again: end-retry.ts). */
  storeNotices: StoreNotices
  /**
   * What killed gateways left on disk: swept in the background once the server listens (`start`); `done` settles
   * when it ended, and stopping the gateway cancels it.
   */
  leftovers: LeftoverSweep
  /** Stores and publishes every run's and session's events (how long it holds them through a store outage). */
  log: EventLog
  /** Sees every event once it is stored (logs, webhooks). */
  tapEvents(listener: (ev: StoredEvent) => void): void
}
