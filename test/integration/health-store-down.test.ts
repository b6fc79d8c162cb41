import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { sharedPostgres } from '../support/shared-postgres.js'

/**
 * GET /health says whether the node can store anything: while its PostgreSQL database refuses connections it
 * answers 503 `unhealthy` with `store.ready: false` (before: 200 `healthy` whatever the store did, so a container's
 * health check and a load balancer kept sending work to a node that failed every run), and 200 again once the
 * database takes connections.
 */
describe('GET /health with the store down', () => {
  const server = sharedPostgres()
  let gw: TestGateway
  let url: string
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url.replace(/\/[^/]+$/, '/postgres') })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  beforeAll(async () => {
    url = await server.createStoreDatabase()
    gw = await startGateway(null, { DATABASE_URL: url })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('is 503 unhealthy while the database refuses connections, 200 healthy before and after', async () => {
    const health = async () => {
      const res = await fetch(`${gw.url}/health`)
      return { status: res.status, body: (await res.json()) as { status: string; store: { ready: boolean } } }
    }
    expect(await health()).toMatchObject({ status: 200, body: { status: 'healthy', store: { ready: true } } })
    const db = new URL(url).pathname.slice(1)
    await admin(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`)
    await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}'`)
    try {
      expect(await health()).toMatchObject({
        status: 503,
        body: { status: 'unhealthy', store: { ready: false } },
      })
    } finally {
      await admin(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`)
    }
    expect(await health()).toMatchObject({ status: 200, body: { status: 'healthy', store: { ready: true } } })
  })
})
