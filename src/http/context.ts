import type { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import type { ActiveRuns } from '../core/active-runs.js'
import type { ApprovalBroker } from '../core/approvals.js'
import type { GatewayMetrics } from '../core/ops/metrics.js'
import type { Webhooks } from '../core/ops/webhooks.js'
import type { RunManager } from '../core/run-manager.js'
import type { SessionManager } from '../core/session-manager.js'
import type { StoredEvent } from '../protocol/events.js'
import type { Store } from '../store/store.js'

/** What every surface gets: settings, the agents, the runs. Surfaces never spawn. */
export interface GatewayContext {
  config: Config
  registry: AgentRegistry
  active: ActiveRuns
  store: Store
  runs: RunManager
  sessions: SessionManager
  approvals: ApprovalBroker
  metrics: GatewayMetrics
  webhooks: Webhooks
  /** Sees every event once it is stored (logs, webhooks). */
  tapEvents(listener: (ev: StoredEvent) => void): void
}
