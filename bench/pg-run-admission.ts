/**
 * Admission of runs across a cluster: POST /v1/runs?wait=false to two nodes at once, this checkout beside a baseline
 * (`npx tsx bench/pg-run-admission.ts --baseline <dir>`).
 *
 * Every admission takes the cluster's admission lock (one at a time across the nodes: the count of unfinished runs
 * and the insert cannot interleave), so how long a node holds it bounds the cluster's admissions per second. Per
 * checkout: its own database on one throwaway PostgreSQL server (test/support/postgres.ts; fsync and
 * synchronous_commit off, like the tests) and two API nodes (GATEWAY_ROLE api, each a process of its own:
 * bench/gateway-process.ts), no worker, so what is measured is the admission (the run's row, its run.queued event,
 * its pg-boss job), not running it. A window: --runs POSTs, --concurrency in flight at once, alternately to the
 * two nodes; after each window the runs it queued are marked cancelled in the database (the count stays small).
 * --rounds windows per checkout, the checkouts' order rotating per round. Reported: runs admitted per second
 * (median of the windows, and per round against the baseline's window of the same round) and the POST's latency
 * p50 and p99.
 *
 * Usage: npx tsx bench/pg-run-admission.ts [--baseline <dir>] [--runs N] [--concurrency C] [--rounds R]
 *          [--pg-latency-ms L] [--built]
 *   --baseline another checkout with node_modules (`git worktree add --detach <dir> <commit>` and
 *     `ln -s <this>/node_modules <dir>/`), labelled by its short commit; without it only this checkout runs;
 *   --runs POSTs per window, default 400; --concurrency default 100; --rounds default 3;
 *   --pg-latency-ms the gateways reach PostgreSQL through bench/delay-proxy.mjs (a process of its own), which holds
 *     every chunk L ms each way: each round trip of an admission 2L ms or more (a database across a network, or a
 *     node its loaded machine deschedules between two round trips); default 0: direct;
 *   --built the gateways from their built dist/ (`npm run build` in each first) instead of src/ through tsx.
 * A POST answered 503 store_busy (the admission's lock wait ended) is counted (column "503"), not retried; any
 * other answer but 202 ends the bench. Not a test: exits 0 when every POST was answered 202, 1 otherwise.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import pg from 'pg'
import { gatewayEnv } from '../test/support/gateway.js'
import { startPostgres } from '../test/support/postgres.js'
import { benchScope, runBench } from './bench-scope.js'
import { codeRan, thisCheckout } from './gateway-modules.js'
import { GatewayProcess } from './gateway-process-client.js'
import { loadLine, machineLines } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median, percentile } from './stats.js'

const { values } = benchArgs({
  options: {
    baseline: { type: 'string' },
    runs: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    'pg-latency-ms': { type: 'string' },
    built: { type: 'boolean', default: false },
  },
})
const runs = intOption(values.runs, 400, '--runs')
const concurrency = intOption(values.concurrency, 100, '--concurrency')
const rounds = intOption(values.rounds, 3, '--rounds')
const pgLatencyMs = intOption(values['pg-latency-ms'], 0, '--pg-latency-ms', 0)
const built = values.built === true
const delayProxy = path.join(import.meta.dirname, 'delay-proxy.mjs')

interface Side {
  label: string
  root: string
  databaseUrl: string
  nodes: GatewayProcess[]
}

interface Window {
  runsPerSecond: number
  latencies: number[]
  /** POSTs answered 503 store_busy. */
  busy: number
}

const shortCommit = (root: string) =>
  execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()

/** --runs POSTs, --concurrency at once, alternately to the side's two nodes. */
async function window(side: Side): Promise<Window> {
  const latencies: number[] = []
  let busy = 0
  let next = 0
  const worker = async () => {
    while (next < runs) {
      const i = next++
      const node = side.nodes[i % side.nodes.length]!
      const t0 = performance.now()
      const res = await fetch(`${node.url}/v1/runs?wait=false`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agent: 'cli', command: { cli: 'echo', args: [`run ${i}`] } }),
      })
      const body = await res.text()
      latencies.push(performance.now() - t0)
      if (res.status === 503 && body.includes('"store_busy"')) busy++
      else if (res.status !== 202)
        throw new BenchError(`${side.label}: POST ${i} answered ${res.status}: ${body}`)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const runsPerSecond = runs / ((performance.now() - started) / 1000)
  // the runs queued are no longer unfinished: the next window's count starts from none again
  const db = new pg.Client({ connectionString: side.databaseUrl })
  await db.connect()
  try {
    await db.query("UPDATE runs SET status = 'cancelled' WHERE status IN ('queued', 'running')")
  } finally {
    await db.end()
  }
  return { runsPerSecond, latencies, busy }
}

async function main(): Promise<void> {
  const scope = benchScope('agw-bench-pg-admission-')
  const roots = [thisCheckout, ...(values.baseline ? [path.resolve(values.baseline)] : [])]
  for (const line of machineLines(loadLine('at the start'))) console.log(line)
  console.log(
    `runs:    ${runs} POST /v1/runs?wait=false per window, ${concurrency} at once over two API nodes (no worker), ${rounds} rounds; the gateways run from ${codeRan(built)}`,
  )
  const server = await startPostgres()
  const sides: Side[] = []
  let proxy: ChildProcess | undefined
  try {
    let proxyPort: number | undefined
    if (pgLatencyMs > 0) {
      proxy = spawn(process.execPath, [delayProxy, '127.0.0.1', String(server.port), String(pgLatencyMs)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      })
      const [line] = (await once(proxy.stdout!, 'data')) as [Buffer]
      proxyPort = Number(line.toString().trim())
      console.log(`postgres: through bench/delay-proxy.mjs, ${pgLatencyMs} ms each way`)
    }
    for (const [i, root] of roots.entries()) {
      const direct = await server.createDatabase()
      const databaseUrl = proxyPort ? direct.replace(/:\d+\//, `:${proxyPort}/`) : direct
      // the bench's own statements (the windows' cleanup) go direct
      const side: Side = { label: i === 0 ? 'this' : shortCommit(root), root, databaseUrl: direct, nodes: [] }
      sides.push(side)
      console.log(`${i === 0 ? 'this' : 'baseline'}: ${root} (${shortCommit(root)})`)
      for (let n = 0; n < 2; n++) {
        const { env, dir } = gatewayEnv(null, {
          DATABASE_URL: databaseUrl,
          GATEWAY_ROLE: 'api',
          CLI_LIST: 'echo',
          MAX_CONCURRENT_RUNS: '1',
          MAX_QUEUED_RUNS: String(runs * 10),
          AGW_BENCH_GATEWAY_ROOT: root,
          AGW_BENCH_LOOP_DELAY: 'off',
        })
        side.nodes.push(await GatewayProcess.start(env, dir, [], false, built))
      }
      // warm-up: each node's first admissions (connections opened, code compiled)
      await window(side)
    }
    const windows = new Map<Side, Window[]>(sides.map((s) => [s, []]))
    for (let r = 0; r < rounds; r++) {
      scope.checkStop()
      const order = [...sides.slice(r % sides.length), ...sides.slice(0, r % sides.length)]
      for (const side of order) windows.get(side)!.push(await window(side))
      console.log(`round ${r + 1}: done; ${loadLine('now')}`)
    }
    const reference = windows.get(sides[1] ?? sides[0]!)!
    const rows = sides.map((side) => {
      const ws = windows.get(side)!
      const latencies = ws.flatMap((w) => w.latencies)
      const paired = ws.map((w, i) => w.runsPerSecond / reference[i]!.runsPerSecond)
      return [
        side.label,
        median(ws.map((w) => w.runsPerSecond)).toFixed(0),
        ws.map((w) => w.runsPerSecond.toFixed(0)).join(' '),
        percentile(latencies, 50).toFixed(0),
        percentile(latencies, 99).toFixed(0),
        String(ws.reduce((n, w) => n + w.busy, 0)),
        sides.length > 1 && side !== sides[1]
          ? `${median(paired).toFixed(2)} (${paired.map((p) => p.toFixed(2)).join(' ')})`
          : '',
      ]
    })
    console.log(
      `\n${markdownTable(
        [
          [
            'checkout',
            'runs/s',
            'runs/s per round',
            'p50 ms',
            'p99 ms',
            '503',
            sides.length > 1 ? `runs/s / ${sides[1]!.label}'s (per round)` : '',
          ],
          ...rows,
        ],
        [false, true, true, true, true, true, true],
      )}`,
    )
  } finally {
    for (const side of sides) for (const node of side.nodes) await node.close()
    if (proxy && proxy.exitCode === null) {
      proxy.kill('SIGTERM')
      await once(proxy, 'exit')
    }
    await server.stop()
    console.log(loadLine('at the end'))
    scope.close()
  }
}

runBench(main)
