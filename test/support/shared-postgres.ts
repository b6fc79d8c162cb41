import { afterAll, beforeAll } from 'vitest'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { startPostgres, type TestPostgres } from './postgres.js'

/**
 * One throwaway PostgreSQL server (test/support/postgres.ts) for a whole test file or describe block, like
 * sharedGateway(): started before its tests, stopped and deleted after them, also when a test or a hook failed.
 * The stores opened with `openStore` are closed first. Call it before the block's other hooks: `afterAll` hooks
 * run in reverse order, so what those start on the server (gateways, queues) ends before the server does.
 * Use it inside tests and hooks, not at collection time.
 */
export function sharedPostgres() {
  let server: TestPostgres | undefined
  const stores: PostgresStore[] = []
  beforeAll(async () => {
    server = await startPostgres()
  }, 60_000)
  afterAll(async () => {
    try {
      for (const store of stores.splice(0).reverse()) await store.close().catch(() => {})
    } finally {
      await server?.stop()
    }
    // bounded like the start: deleting the server's directory (a database per test: postgres-store.test.ts makes
    // ~50) took 7-13 s with two such files at once on a loaded 2-core machine, and passed vitest's 30 s default
  }, 60_000)
  const started = (): TestPostgres => {
    if (!server) throw new Error('sharedPostgres: the server starts in beforeAll; use it in tests and hooks')
    return server
  }
  // the database the store's migrations were applied to once, which createStoreDatabase copies
  let migrated: Promise<string> | undefined
  const migratedTemplate = async (): Promise<string> => {
    const url = await started().createDatabase()
    await (await PostgresStore.open(url)).close()
    return new URL(url).pathname.slice(1)
  }
  return {
    /** A new empty database: its URL. */
    createDatabase: () => started().createDatabase(),
    /**
     * A new database as PostgresStore.open leaves an empty one (every migration applied, no rows): its URL. A
     * copy of one migrated once per server (the copy is cheaper than a new database and its migrations).
     */
    async createStoreDatabase(): Promise<string> {
      migrated ??= migratedTemplate()
      return started().createDatabase(await migrated)
    },
    /** A store on `url` (or on a new database), closed after the block's tests, before the server stops. */
    async openStore(url?: string): Promise<PostgresStore> {
      const store = await PostgresStore.open(url ?? (await started().createDatabase()))
      stores.push(store)
      return store
    },
  }
}
