import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { startPostgres, type TestPostgres } from './postgres.js'
import { runServer } from './run-postgres.js'

export interface SharedPostgresOptions {
  /**
   * A throwaway server of the block's own instead of the run's shared one: for tests that harm the server itself
   * (a tablespace on a disk they fill and unmount), which would fail the other files' databases.
   */
  ownServer?: boolean
  /** With `ownServer`: its pg_wal on a tmpfs of this many bytes (startPostgres's walTmpfsBytes; needs root). */
  walTmpfsBytes?: number
}

type Server = Omit<TestPostgres, 'stop' | 'start'>

/**
 * PostgreSQL for a whole test file or describe block, like sharedGateway(): databases of the block's own on the
 * run's shared server (run-postgres.ts; global setup starts it), dropped after its tests, also when a test or a
 * hook failed (WITH (FORCE): a connection left open ends there, as it did when each file stopped a server of its
 * own). Without a shared server (a run without global setup) or with `ownServer`, a throwaway server
 * (test/support/postgres.ts) started before its tests and stopped and deleted after them. The stores opened with
 * `openStore` are closed first. Call it before the block's other hooks: `afterAll` hooks run in reverse order, so
 * what those start on the server (gateways, queues) ends before its databases do. Use it inside tests and hooks,
 * not at collection time.
 */
export function sharedPostgres(options: SharedPostgresOptions = {}) {
  let server: Server | undefined
  let own: TestPostgres | undefined
  const stores: PostgresStore[] = []
  const made: string[] = []
  // one connection to the server's `postgres` database makes and drops the block's databases: a backend each
  // (what each CREATE DATABASE opened before) cost 30-40 ms of the server's CPU on a loaded 2-core machine
  let admin: Promise<pg.Client> | undefined
  const adminClient = (): Promise<pg.Client> => {
    admin ??= (async () => {
      const client = new pg.Client({ connectionString: started().url })
      // lost (its server stopped): the next call opens another
      client.on('error', () => {
        admin = undefined
      })
      await client.connect()
      return client
    })().catch((err: unknown) => {
      admin = undefined
      throw err
    })
    return admin
  }
  beforeAll(async () => {
    server = options.ownServer ? undefined : runServer()
    if (!server) {
      own = await startPostgres(options.walTmpfsBytes ? { walTmpfsBytes: options.walTmpfsBytes } : {})
      server = own
    }
  }, 60_000)
  afterAll(async () => {
    try {
      for (const store of stores.splice(0).reverse()) await store.close().catch(() => {})
    } finally {
      try {
        if (!own && made.length > 0) await dropDatabases(await adminClient(), made.splice(0))
      } finally {
        const client = admin
        admin = undefined
        await client?.then((c) => c.end()).catch(() => {})
        await own?.stop()
      }
    }
    // bounded like the start: deleting the server's directory (a database per test: postgres-store.test.ts makes
    // ~50) took 7-13 s with two such files at once on a loaded 2-core machine, and passed vitest's 30 s default
  }, 60_000)
  const started = (): Server => {
    if (!server) throw new Error('sharedPostgres: the server starts in beforeAll; use it in tests and hooks')
    return server
  }
  const createDatabase = async (template?: string): Promise<string> => {
    const url = await started().createDatabase(template, await adminClient())
    made.push(databaseOf(url))
    return url
  }
  // the database the store's migrations were applied to once, which createStoreDatabase copies: one per run on
  // the shared server, one per server of the block's own
  let migrated: Promise<string> | undefined
  const migratedTemplate = async (): Promise<string> => {
    if (!own) return storeTemplate(started())
    const url = await started().createDatabase(undefined, await adminClient())
    await (await PostgresStore.open(url)).close()
    return databaseOf(url)
  }
  return {
    /** A new empty database: its URL. */
    createDatabase: () => createDatabase(),
    /**
     * A new database as PostgresStore.open leaves an empty one (every migration applied, no rows): its URL. A
     * copy of one migrated once per server (the copy is cheaper than a new database and its migrations).
     */
    async createStoreDatabase(): Promise<string> {
      migrated ??= migratedTemplate()
      return createDatabase(await migrated)
    },
    /** The block's own server (`ownServer`): its directory, and start() to start it again after it went down. */
    ownServer(): Pick<TestPostgres, 'dir' | 'start'> {
      if (!own) throw new Error('sharedPostgres: ownServer() is for a block with a server of its own')
      return own
    },
    /** A store on `url` (or on a new database), closed after the block's tests, before its database goes. */
    async openStore(url?: string): Promise<PostgresStore> {
      const store = await PostgresStore.open(url ?? (await createDatabase()))
      stores.push(store)
      return store
    },
  }
}

const databaseOf = (url: string) => new URL(url).pathname.slice(1)

/** The store's migrated template on the run's shared server: made by the first file that asks, under a lock. */
const storeTemplateName = 'agw_store_template'
/** The lock's advisory key (in the server's `postgres` database; any constant unique to the tests). */
const storeTemplateLock = 7_265_390_001
const storeTemplateMark = 'migrated'

/**
 * The name of the run's migrated template on `server`, made if no file made it yet. Marked (COMMENT ON DATABASE)
 * once its migrations are in: one a killed worker left half-made is made again. Each process asks once.
 */
async function storeTemplate(server: Server): Promise<string> {
  storeTemplates[server.url] ??= makeStoreTemplate(server).catch((err: unknown) => {
    delete storeTemplates[server.url]
    throw err
  })
  return storeTemplates[server.url] as Promise<string>
}
const storeTemplates: Record<string, Promise<string>> = {}

async function makeStoreTemplate(server: Server): Promise<string> {
  const admin = new pg.Client({ connectionString: server.url })
  await admin.connect()
  try {
    await admin.query('SELECT pg_advisory_lock($1)', [storeTemplateLock])
    const { rows } = await admin.query(
      "SELECT shobj_description(oid, 'pg_database') AS mark FROM pg_database WHERE datname = $1",
      [storeTemplateName],
    )
    if (rows[0]?.mark === storeTemplateMark) return storeTemplateName
    if (rows[0]) await admin.query(`DROP DATABASE ${storeTemplateName} WITH (FORCE)`)
    await admin.query(`CREATE DATABASE ${storeTemplateName}`)
    await (await PostgresStore.open(server.url.replace(/\/postgres$/, `/${storeTemplateName}`))).close()
    await admin.query(`COMMENT ON DATABASE ${storeTemplateName} IS '${storeTemplateMark}'`)
    return storeTemplateName
  } finally {
    // ending the session releases the lock
    await admin.end()
  }
}

/** Drops a block's databases on the shared server (connections still on them are ended). */
async function dropDatabases(admin: pg.Client, names: string[]): Promise<void> {
  for (const name of names) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}
