import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DelayingProxy, startDelayingProxy } from '../support/delaying-proxy.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { sharedPostgres } from '../support/shared-postgres.js'

gatewayModules()

/**
 * Admission is exact across nodes: two gateways on one PostgreSQL database take a burst of POST /v1/runs at once,
 * and the cluster admits no more unfinished runs than its bound (MAX_QUEUED_RUNS + MAX_CONCURRENT_RUNS; the count
 * is the cluster's): the admission lock and the count are taken in the transaction's COMMIT (migration 11).
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

/**
 * The cluster's admission lock is held for no client round trip: two gateways whose every packet to and from
 * PostgreSQL is held 15 ms (a round trip of 30 ms at least: a server across a network, or a node its loaded machine
 * deschedules) admit a burst that fits in their bound, all of it. Before, the lock was taken by the run's INSERT and
 * held across the next three round trips (its events' seq bump and INSERT, then COMMIT's): ~90 ms an admission at
 * this delay, one at a time across the cluster, so the waits behind 20 connections passed the lock wait (here
 * PG_LOCK_TIMEOUT_SECONDS, 1 s; at ~38 load, three quarters of STORE_QUERY_TIMEOUT_SECONDS) and those requests
 * answered 503 store_busy (test/e2e/cluster.test.ts under load).
 */
describe('run admission across two nodes whose store round trips are slow', () => {
  const pg = sharedPostgres()
  let proxy: DelayingProxy
  let a: TestGateway
  let b: TestGateway

  beforeAll(async () => {
    proxy = await startDelayingProxy(await pg.createDatabase(), 15)
    const shared = {
      DATABASE_URL: proxy.url,
      CLI_LIST: 'sleep',
      MAX_CONCURRENT_RUNS: '1',
      MAX_QUEUED_RUNS: '100',
      PG_LOCK_TIMEOUT_SECONDS: '1',
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
    await proxy?.close()
  })

  it('a burst of 60 POST /v1/runs split over both nodes is admitted whole (202), none 503 store_busy', async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        postJson(`${(i % 2 ? a : b).url}/v1/runs`, {
          agent: 'cli',
          command: { cli: 'sleep', args: ['600'] },
        }),
      ),
    )
    const codes = await Promise.all(
      answers.map(async (r) => (r.status === 202 ? 202 : `${r.status} ${await r.text()}`)),
    )
    expect(codes.filter((c) => c !== 202)).toEqual([])
    expect(await a.ctx.store.listRuns({ limit: 100 })).toHaveLength(60)
  }, 60_000)
})
