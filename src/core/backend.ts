import path from 'node:path'
import { ConfigError } from '../config/config-error.js'
import type { Config } from '../config/load.js'
import { type EventBus, InProcessEventBus } from '../store/event-bus.js'
import type { NodeLock } from '../store/node-lock.js'
import type { NodeSignals } from '../store/node-signals.js'
import type { RunQueue } from '../store/run-queue.js'
import { SqliteStore } from '../store/sqlite/sqlite-store.js'
import type { Store } from '../store/store.js'

/** The store and what goes with it: SQLite alone, or PostgreSQL with a cross-node bus, signals and queue. */
export interface Backend {
  store: Store
  /** Whether other nodes may share the store (then lost nodes are watched while running). */
  shared: boolean
  openBus(node: string): Promise<EventBus>
  openSignals(node: string): Promise<NodeSignals | undefined>
  /** The node's liveness lock, taken before it registers (PostgreSQL; none on SQLite). */
  openLock(node: string): Promise<NodeLock | undefined>
  /** The run queue between API nodes and workers (PostgreSQL with a role other than `all`). */
  openQueue(): Promise<RunQueue | undefined>
  /**
   * Destroys every connection to the store's server (PostgreSQL: the pool's, pg-boss's, LISTEN, the liveness
   * lock's), for a stop that waited for a server that does not answer; what waits on them fails. The COMMITs sent
   * and not answered then (their outcome unknown). Undefined without a server (SQLite).
   */
  abandon?(): { commitsUnknown: number }
}

export async function openBackend(config: Config): Promise<Backend> {
  const url = config.DATABASE_URL
  if (!url) {
    if (config.GATEWAY_ROLE !== 'all')
      throw new ConfigError(
        `the role ${config.GATEWAY_ROLE} (--role or GATEWAY_ROLE) needs DATABASE_URL (postgres://…): API nodes and workers share a PostgreSQL store; a single node runs with the role all (the default)`,
      )
    return {
      store: new SqliteStore(path.join(config.DATA_DIR, 'agent-gateway.db')),
      shared: false,
      openBus: async () => new InProcessEventBus(),
      openSignals: async () => undefined,
      openLock: async () => undefined,
      openQueue: async () => undefined,
    }
  }
  // Loaded only here: pg and pg-boss are about 120 CommonJS files a SQLite gateway never needs at its start.
  const { PostgresStore } = await import('../store/postgres/postgres-store.js')
  const { PgEventBus } = await import('../store/postgres/pg-event-bus.js')
  const { PgNodeSignals } = await import('../store/postgres/pg-node-signals.js')
  const { PgLivenessLock } = await import('../store/postgres/pg-liveness-lock.js')
  const { PgConnections } = await import('../store/postgres/pg-connections.js')
  const connections = new PgConnections()
  const store = await PostgresStore.open(url, {
    poolSize: config.PG_POOL_SIZE,
    ...(config.PG_EVENT_LOG_LANES !== undefined ? { commitLanes: config.PG_EVENT_LOG_LANES } : {}),
    timeouts: {
      idleInTransactionMs: config.PG_IDLE_IN_TRANSACTION_SECONDS * 1000,
      lockMs: config.PG_LOCK_TIMEOUT_SECONDS * 1000,
      statementMs: config.PG_STATEMENT_TIMEOUT_SECONDS * 1000,
    },
    queryTimeoutMs: config.STORE_QUERY_TIMEOUT_SECONDS * 1000,
  }).catch((err: Error) => {
    throw new ConfigError(`cannot use DATABASE_URL (${redacted(url)}): ${err.message}`)
  })
  connections.addPool(store.pool)
  return {
    store,
    shared: true,
    // their LISTEN connections checked every STORE_QUERY_TIMEOUT_SECONDS: one a hung server or a dead network
    // does not answer is replaced (and the bus's followers catch up from the table)
    openBus: (node) => PgEventBus.start(url, store.pool, node, store.queryTimeoutMs, connections),
    openSignals: (node) => PgNodeSignals.start(url, store.pool, node, store.queryTimeoutMs, connections),
    openLock: (node) =>
      PgLivenessLock.start(url, node, (key, held) => store.setNodeLockKey(node, key, held), connections),
    openQueue: async () => {
      if (config.GATEWAY_ROLE === 'all') return undefined
      const { PgBossRunQueue } = await import('../store/postgres/pg-boss-run-queue.js')
      // a request's send of a run's job meets the store's bounds (client-side, and each connection's lock_timeout)
      return PgBossRunQueue.start(url, connections, {
        queryTimeoutMs: store.queryTimeoutMs,
        lockWaitMs: store.lockWaitMs,
      })
    },
    abandon: () => {
      const commitsUnknown = store.commitsUnanswered
      connections.destroyAll()
      return { commitsUnknown }
    },
  }
}

/** The URL without its password, for messages. */
function redacted(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')
}
