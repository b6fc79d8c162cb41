/**
 * Reads of the node list (PostgresStore.listNodes: the nodes table and one read of pg_locks) per run admission on
 * an API node, one at a time and many at once (`npx tsx bench/pg-node-listings.ts [--runs N] [--at-once K]`).
 *
 * An API node (GATEWAY_ROLE=api) and a worker on one throwaway PostgreSQL (test/support/postgres.ts), in this
 * process. Each admission is POST /v1/runs {agent: cli, command: true} to the API node: it counts the live runners
 * (NodeMembership.liveRunners: a listing) for the capacity, stores the run and queues it. Counted on the API node's
 * store (bench/store-calls.ts): listNodes and all store calls per admission, while the admissions run; printed with
 * the admissions' latency p50 and p99. Run it on two checkouts (or `git checkout <commit> -- src`) to compare.
 * Not a test: exits 1 when an admission is not accepted.
 */
import { startMockLlm } from '../test/mock-llm/index.js'
import { postJson, startGateway } from '../test/support/gateway.js'
import { startPostgres } from '../test/support/postgres.js'
import { loadLine, machineLines } from './machine.js'
import { benchArgs, intOption } from './options.js'
import { markdownTable, median, percentile } from './stats.js'
import { countStoreCalls } from './store-calls.js'

const { values } = benchArgs({
  options: { runs: { type: 'string' }, 'at-once': { type: 'string' } },
})
const runs = intOption(values.runs, 200, '--runs')
const atOnce = intOption(values['at-once'], 20, '--at-once')

const server = await startPostgres()
const mock = await startMockLlm()
const shared = {
  DATABASE_URL: await server.createDatabase(),
  CLI_LIST: 'true',
  MAX_QUEUED_RUNS: String(runs * 2),
  MAX_CONCURRENT_RUNS: '4',
}
const api = await startGateway(mock, { ...shared, GATEWAY_ROLE: 'api' })
const worker = await startGateway(mock, { ...shared, GATEWAY_ROLE: 'worker', WORKSPACE_DIR: api.workspace })
let failed = false
try {
  const counter = countStoreCalls(api.ctx.store as unknown as Record<string, unknown>)
  const admit = async (): Promise<number> => {
    const t0 = performance.now()
    const res = await postJson(`${api.url}/v1/runs`, { agent: 'cli', command: { cli: 'true', args: [] } })
    if (res.status !== 202) {
      failed = true
      console.error(`admission answered ${res.status}: ${await res.text()}`)
    } else await res.arrayBuffer()
    return performance.now() - t0
  }
  // warm-up: the HTTP path, the queue, the pools
  for (let i = 0; i < 10; i++) await admit()
  const rows: string[][] = []
  for (const [label, width] of [
    ['one at a time', 1],
    [`${atOnce} at once`, atOnce],
  ] as const) {
    counter.calls.clear()
    counter.counting = true
    const times: number[] = []
    for (let done = 0; done < runs; done += width)
      times.push(...(await Promise.all(Array.from({ length: Math.min(width, runs - done) }, admit))))
    counter.counting = false
    const all = [...counter.calls.values()].reduce((a, b) => a + b, 0)
    rows.push([
      label,
      String(runs),
      ((counter.calls.get('listNodes') ?? 0) / runs).toFixed(2),
      (all / runs).toFixed(2),
      median(times).toFixed(1),
      percentile(times, 99).toFixed(1),
    ])
  }
  console.log(machineLines(loadLine('after')).join('\n'))
  console.log(
    markdownTable(
      [
        ['admissions', 'runs', 'listNodes / admission', 'store calls / admission', 'p50 ms', 'p99 ms'],
        ...rows,
      ],
      [false, true, true, true, true, true],
    ),
  )
} finally {
  await api.close()
  await worker.close()
  await mock.close()
  await server.stop()
}
process.exit(failed ? 1 : 0)
