import { AgentRegistry } from '../../agents/registry.js'
import type { Config } from '../../config/load.js'
import type { Store } from '../../store/store.js'
import type { ApprovalBroker } from '../approvals.js'
import type { RunManager } from '../run-manager.js'
import type { SessionManager } from '../session-manager.js'
import { tenantLayout } from './tenant-homes.js'
import { tenantStore } from './tenant-store.js'

/** What one tenant (or, with tenant null, every untenanted token) works with: only its own resources. */
export interface TenantScope {
  tenant: string | null
  config: Config
  registry: AgentRegistry
  runs: RunManager
  sessions: SessionManager
  approvals: ApprovalBroker
}

/** A run manager, a session manager and the approval broker of its sessions, wired together. */
export interface Managers {
  runs: RunManager
  sessions: SessionManager
  approvals: ApprovalBroker
}

interface Shared {
  store: Store
  config: Config
  serverEnv: NodeJS.ProcessEnv
  /** The server's own agents: the untenanted scope uses them; tenants get their own on the same runner. */
  registry: AgentRegistry
  /** Builds managers over a store (view), agents and settings, exactly as the server's own are built. */
  managers: (store: Store, registry: AgentRegistry, config: Config, tenant: string | null) => Managers
}

/**
 * Scopes by tenant, built on first use. Each has its own view of the store (tenant-store.ts) and its own run
 * and session managers and approval broker; a tenant's agents (own registry: own codex app-server, own
 * CODEX_HOME and agent homes) work in the tenant's workspace root only. The untenanted scope shares the
 * server's agents and workspace roots. Capacity (MAX_CONCURRENT_RUNS) is counted per scope; admission
 * (MAX_QUEUED_RUNS) server-wide, in the store.
 */
export class Tenancy {
  private readonly scopes = new Map<string | null, TenantScope>()

  constructor(private readonly shared: Shared) {}

  scope(tenant: string | null): TenantScope {
    let scope = this.scopes.get(tenant)
    if (!scope) {
      scope = this.build(tenant)
      this.scopes.set(tenant, scope)
    }
    return scope
  }

  all(): TenantScope[] {
    return [...this.scopes.values()]
  }

  get stats() {
    let running = 0
    let queued = 0
    let pendingApprovals = 0
    for (const s of this.scopes.values()) {
      running += s.runs.stats.running
      queued += s.runs.stats.queued
      pendingApprovals += s.approvals.pendingCount
    }
    return { running, queued, pendingApprovals }
  }

  private build(tenant: string | null): TenantScope {
    const layout = tenant === null ? null : tenantLayout(this.shared.config, this.shared.serverEnv, tenant)
    const config = layout?.config ?? this.shared.config
    const registry = layout
      ? AgentRegistry.fromConfig(config, layout.serverEnv, this.shared.registry.runner)
      : this.shared.registry
    const managers = this.shared.managers(tenantStore(this.shared.store, tenant), registry, config, tenant)
    return { tenant, config, registry, ...managers }
  }
}
