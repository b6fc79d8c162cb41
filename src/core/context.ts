import type { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import type { Store } from '../store/store.js'
import type { ActiveRuns } from './active-runs.js'
import type { ApprovalBroker } from './approvals.js'
import type { NodeMembership } from './node-membership.js'
import type { RunManager } from './run-manager.js'
import type { SessionManager } from './session-manager.js'

/** What every surface gets: settings, the agents, the runs. Surfaces never spawn. */
export interface GatewayContext {
  config: Config
  registry: AgentRegistry
  active: ActiveRuns
  store: Store
  node: NodeMembership
  /** Stops watching other nodes and closes the queue, signals and bus connections. */
  closeCluster(): Promise<void>
  runs: RunManager
  sessions: SessionManager
  approvals: ApprovalBroker
}
