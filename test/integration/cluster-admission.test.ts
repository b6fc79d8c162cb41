import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { sharedPostgres } from '../support/shared-postgres.js'

gatewayModules()

/**
 * Admission is exact across nodes: two gateways on one PostgreSQL database take a burst of POST /v1/runs at once,
 * and the cluster admits no more unfinished runs than its bound (MAX_QUEUED_RUNS + MAX_CONCURRENT_RUNS; the count
 * is the cluster's): the admission lock, the count and the insert are one statement (agw_admission_room).
 */
describe('run admission across two nodes', () => {
  const pg = sharedPostgres()
  let a: TestGateway
  let b: TestGateway

  beforeAll(async () => {
    const shared = {
      DATABASE_URL: await pg.createDatabase(),
      CLI_LIST: 'sleep',
      MAX_CONCURRENT_RUNS: '1',
      MAX_QUEUED_RUNS: '4',
      // the runs admitted sleep until the gateways close: ended at once then
      SHUTDOWN_GRACE_SECONDS: '0',
      KILL_GRACE_MS: '200',
    }
    a = await startGateway(null, shared)
    b = await startGateway(null, shared)
  }, 60_000)
  afterAll(async () => {
    await a?.close()
    await b?.close()
    for (const gw of [a, b]) if (gw) await waitUntilGone(() => processesUnder(gw.workspace), 5000)
  })

  it('a burst of 40 POST /v1/runs split over both nodes admits exactly the bound (5); the rest answer 429', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        postJson(`${(i % 2 ? a : b).url}/v1/runs`, {
          agent: 'cli',
          command: { cli: 'sleep', args: ['600'] },
        }),
      ),
    )
    const statuses = answers.map((r) => r.status)
    expect(statuses.filter((s) => s === 202)).toHaveLength(5)
    expect(statuses.filter((s) => s === 429)).toHaveLength(35)
    expect(answers.find((r) => r.status === 429)?.headers.get('retry-after')).toBe('5')
    for (const r of answers) await r.body?.cancel()
    expect(await a.ctx.store.listRuns({ limit: 100 })).toHaveLength(5)
  })
})
