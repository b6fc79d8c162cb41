import type { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import type { ActiveRuns } from '../core/active-runs.js'

/** What every surface gets: settings, the agents, and the runs in flight. Surfaces never spawn. */
export interface GatewayContext {
  config: Config
  registry: AgentRegistry
  active: ActiveRuns
}
