/**
 * SQLite vs PostgreSQL (`npx tsx bench/store-backends.ts [--runs N] [--events N] [--burst N]`), side by side:
 *   1. runs/s   N `cli` runs (`echo`, so the store and the run machinery are what is measured), 20 at a time,
 *               POST /v1/runs?wait=true against one in-process gateway (role `all`), on SQLite and on
 *               PostgreSQL (a throwaway server from test/support/postgres.ts; fsync off, like the tests).
 *   2. relay    N events appended one after the other through an EventLog while a subscriber follows the run:
 *               SQLite (in-process bus), PostgreSQL on the same node, and PostgreSQL across nodes (appended on
 *               node A, followed on node B through LISTEN/NOTIFY). Latency = received - append started.
 *               `--burst N`: N events appended at once (one commit), then the next N once they are stored.
 * docs/benchmarks.md has the numbers. Exits 1 when a check fails.
 */
import path from 'node:path'
import { EventLog } from '../src/core/event-log.js'
import { startServer } from '../src/http/server.js'
import { InProcessEventBus } from '../src/store/event-bus.js'
import { PgEventBus } from '../src/store/postgres/pg-event-bus.js'
import { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import type { Store } from '../src/store/store.js'
import { newRun } from '../test/contract/store-contract.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { startPostgres } from '../test/support/postgres.js'
import { tempDir } from '../test/support/temp.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, percentile } from './stats.js'

const { values } = benchArgs({
  options: { runs: { type: 'string' }, events: { type: 'string' }, burst: { type: 'string' } },
})
const runs = intOption(values.runs, 200, '--runs')
const events = intOption(values.events, 2000, '--events')
const burst = intOption(values.burst, 1, '--burst')

async function runsPerSecond(extra: Record<string, string>): Promise<number> {
  const { env, dir } = gatewayEnv(null, {
    CLI_LIST: 'echo',
    MAX_CONCURRENT_RUNS: '8',
    MAX_QUEUED_RUNS: '10000',
    ...extra,
  })
  const server = await startServer({ env, cwd: dir, logger: false })
  try {
    const started = performance.now()
    let next = 0
    const worker = async () => {
      while (next < runs) {
        const i = next++
        const res = await fetch(`${server.url}/v1/runs?wait=true`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ agent: 'cli', command: { cli: 'echo', args: [`run ${i}`] } }),
        })
        const run = (await res.json()) as { status: string }
        if (run.status !== 'succeeded') throw new BenchError(`run ${i}: ${JSON.stringify(run)}`)
      }
    }
    await Promise.all(Array.from({ length: 20 }, worker))
    return runs / ((performance.now() - started) / 1000)
  } finally {
    await server.close()
  }
}

async function relay(writer: { store: Store; log: EventLog }, reader: EventLog): Promise<number[]> {
  const id = `run_bench${Math.random().toString(36).slice(2)}`
  await writer.store.createRun(newRun(id))
  const sentAt = new Map<number, number>()
  const latencies: number[] = []
  let finished = false
  const reading = (async () => {
    for await (const ev of reader.subscribe(
      id,
      0,
      (e) => e.type === 'run.completed',
      async () => finished,
    )) {
      const at = sentAt.get(ev.seq)
      if (at !== undefined) latencies.push(performance.now() - at)
    }
  })()
  await new Promise((r) => setTimeout(r, 100))
  for (let i = 1; i <= events; i += burst) {
    const appends: Promise<unknown>[] = []
    for (let j = i; j < i + burst && j <= events; j++) {
      sentAt.set(j, performance.now())
      appends.push(writer.log.append(id, { type: 'item.delta', itemId: 'i', delta: `delta ${j}` }))
    }
    await Promise.all(appends)
    // Let the subscriber run between appends, as it does when a driver's events arrive from a process:
    // SQLite's synchronous appends would otherwise hold the event loop and the latency would be the loop's.
    await new Promise((r) => setImmediate(r))
  }
  sentAt.set(events + 1, performance.now())
  await writer.log.append(id, {
    type: 'run.completed',
    status: 'succeeded',
    exitCode: 0,
    signal: null,
    reason: 'exited',
    finalResponse: null,
    usage: null,
  })
  finished = true
  await reading
  if (latencies.length !== events + 1)
    throw new BenchError(`relay saw ${latencies.length} of ${events + 1} events`)
  return latencies
}

async function main(): Promise<void> {
  const pg = await startPostgres()
  const rows: string[][] = []
  try {
    const sqliteRuns = await runsPerSecond({})
    const pgRuns = await runsPerSecond({ DATABASE_URL: await pg.createDatabase() })
    rows.push([
      'runs/s (echo, 20 at a time)',
      sqliteRuns.toFixed(1),
      pgRuns.toFixed(1),
      '',
      (pgRuns / sqliteRuns).toFixed(2),
    ])

    const sqlite = new SqliteStore(path.join(tempDir('bench-store-'), 'gw.db'))
    const sqliteLog = new EventLog(sqlite, new InProcessEventBus())
    const sqliteLat = await relay({ store: sqlite, log: sqliteLog }, sqliteLog)
    await sqlite.close()

    const url = await pg.createDatabase()
    const a = await PostgresStore.open(url)
    const b = await PostgresStore.open(url)
    const busA = await PgEventBus.start(url, a.pool, 'node_a')
    const busB = await PgEventBus.start(url, b.pool, 'node_b')
    const logA = new EventLog(a, busA)
    const logB = new EventLog(b, busB)
    const sameNode = await relay({ store: a, log: logA }, logA)
    const crossNode = await relay({ store: a, log: logA }, logB)
    await busA.close()
    await busB.close()
    await a.close()
    await b.close()
    for (const p of [50, 99]) {
      const s = percentile(sqliteLat, p)
      const same = percentile(sameNode, p)
      const cross = percentile(crossNode, p)
      rows.push([`relay p${p} (ms)`, s.toFixed(2), same.toFixed(2), cross.toFixed(2), (cross / s).toFixed(1)])
    }
  } finally {
    await pg.stop()
  }
  console.log(
    markdownTable(
      [['', 'SQLite', 'PostgreSQL (same node)', 'PostgreSQL (node A -> B)', 'PostgreSQL / SQLite'], ...rows],
      [false, true, true, true, true],
    ),
  )
}

main().catch((err) => {
  console.error(err instanceof BenchError ? err.message : err)
  process.exit(1)
})
