/**
 * Does spawning agents block the event loop? (`npx tsx bench/spawn-loop-delay.ts`; issue 14 target 6)
 *
 * This process is made as large as a busy gateway (--rss-mb of heap and buffers: fork() copies the page tables
 * of the whole process) and serves HTTP on 127.0.0.1. A separate pinger process sends it a request every 5 ms.
 * Then a burst of --spawns children (`cat`, fed a line on stdin) is started through spawnGroup at once, once per
 * spawn strategy, interleaved over --reps rounds:
 *   direct   child_process.spawn() for each at once (how spawn-group.ts spawned before)
 *   paced    at most one spawn per event-loop turn (spawn-pacing.ts)
 *   host     spawned from the spawn host process (spawn-host.ts; what the local runner uses)
 * Printed per strategy (medians over the rounds): the event-loop delay during the burst (perf_hooks histogram,
 * ms p50/p99/max), the latency of the pinger's requests answered during the burst (the delay another client
 * sees, measured in the pinger), the time until every child was spawned and until every child was done.
 *
 * Usage: npx tsx bench/spawn-loop-delay.ts [--spawns N] [--reps N] [--rss-mb N] [--only direct,paced,host]
 */
import { spawn } from 'node:child_process'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ChildHandle, ChildSpec } from '../src/process/child-handle.js'
import { pacedSpawn, spawnNow } from '../src/process/paced-spawn.js'
import { type GroupProcess, spawnGroup } from '../src/process/spawn-group.js'
import { SpawnHost } from '../src/process/spawn-host.js'
import { printMachine } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median } from './stats.js'

type Spawner = (spec: ChildSpec) => ChildHandle
const started = await SpawnHost.start()
if (!started) throw new Error('the spawn host did not start')
const host = started
const strategies: Record<string, Spawner> = {
  direct: spawnNow,
  paced: pacedSpawn,
  host: (spec) => host.spawn(spec),
}

const { values } = benchArgs({
  options: {
    spawns: { type: 'string' },
    reps: { type: 'string' },
    'rss-mb': { type: 'string' },
    only: { type: 'string' },
  },
})
const spawns = intOption(values.spawns, 200, 'spawns')
const reps = intOption(values.reps, 3, 'reps')
const rssMb = intOption(values['rss-mb'], 250, 'rss-mb', 0)
const chosen = values.only ? values.only.split(',') : Object.keys(strategies)
for (const name of chosen) if (!strategies[name]) throw new BenchError(`--only: unknown strategy ${name}`)

/** A pinger in its own process: GET / every 5 ms; on "report" it prints the latencies since "mark". */
const pingerSource = `
const http = require('node:http')
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
const url = process.argv[1]
let marking = false
let latencies = []
setInterval(() => {
  const t0 = performance.now()
  http.get(url, { agent }, (res) => {
    res.resume()
    res.on('end', () => { if (marking) latencies.push(performance.now() - t0) })
  }).on('error', () => {})
}, 5)
process.stdin.setEncoding('utf8')
process.stdin.on('data', (line) => {
  if (line.startsWith('mark')) { marking = true; latencies = [] }
  if (line.startsWith('report')) { marking = false; process.stdout.write(JSON.stringify(latencies) + '\\n') }
})
`

interface Sample {
  loopP50: number
  loopP99: number
  loopMax: number
  reqP50: number
  reqP99: number
  reqMax: number
  requests: number
  allSpawnedMs: number
  allDoneMs: number
}

const ballast: unknown[] = []
function grow(mb: number): void {
  // half buffers, half small JS objects (a gateway's heap is the latter)
  for (let i = 0; i < mb / 2; i++) ballast.push(Buffer.alloc(1 << 20, i % 251))
  const objects = (mb / 2) * 9000
  for (let i = 0; i < objects; i++) ballast.push({ id: i, text: `event ${i}`, at: Date.now() })
}

async function main(): Promise<void> {
  printMachine()
  grow(rssMb)
  console.log(`rss:     ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB (--rss-mb ${rssMb})`)
  console.log(`burst:   ${spawns} spawns of \`cat\` at once, ${reps} rounds per strategy, interleaved\n`)

  const server = http.createServer((_req, res) => res.end('pong'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const pinger = spawn(process.execPath, ['-e', pingerSource, `http://127.0.0.1:${port}/`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const reports: string[] = []
  pinger.stdout.setEncoding('utf8')
  let buffered = ''
  const waiters: Array<(line: string) => void> = []
  pinger.stdout.on('data', (chunk: string) => {
    buffered += chunk
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      const waiter = waiters.shift()
      if (waiter) waiter(line)
      else reports.push(line)
    }
  })
  const report = () =>
    new Promise<number[]>((resolve) => {
      waiters.push((line) => resolve(JSON.parse(line) as number[]))
      pinger.stdin.write('report\n')
    })
  await sleep(500)

  const results = new Map<string, Sample[]>(chosen.map((name) => [name, []]))
  try {
    for (let rep = 0; rep < reps; rep++)
      for (const name of chosen) {
        const sample = await burst(strategies[name]!, () => pinger.stdin.write('mark\n'), report)
        results.get(name)!.push(sample)
        console.log(
          `round ${rep + 1} ${name.padEnd(6)} loop p99 ${sample.loopP99.toFixed(1)} ms, max ${sample.loopMax.toFixed(1)} ms; ` +
            `request p99 ${sample.reqP99.toFixed(1)} ms (${sample.requests} answered); all spawned ${sample.allSpawnedMs.toFixed(0)} ms`,
        )
        await sleep(300)
      }
  } finally {
    await host.stop()
    pinger.kill('SIGKILL')
    server.closeAllConnections()
    server.close()
  }

  const f1 = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 })
  const f0 = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 })
  const m = (name: string, key: keyof Sample) => median(results.get(name)!.map((s) => s[key]))
  const rows: Array<[string, keyof Sample, (n: number) => string]> = [
    ['event-loop delay ms p50', 'loopP50', f1],
    ['event-loop delay ms p99', 'loopP99', f1],
    ['event-loop delay ms max', 'loopMax', f1],
    ['other client: request latency ms p50', 'reqP50', f1],
    ['other client: request latency ms p99', 'reqP99', f1],
    ['other client: request latency ms max', 'reqMax', f1],
    ['other client: requests answered during the burst', 'requests', f0],
    ['ms until every child was spawned', 'allSpawnedMs', f0],
    ['ms until every child was done', 'allDoneMs', f0],
  ]
  const table = [
    ['', ...chosen],
    ...rows.map(([label, key, f]) => [label, ...chosen.map((n) => f(m(n, key)))]),
  ]
  console.log(`\nmedians of ${reps} rounds, ${spawns} spawns each:\n`)
  console.log(
    markdownTable(
      table,
      table[0]!.map((_, i) => i > 0),
    ),
  )
  if (chosen.includes('direct'))
    for (const name of chosen.filter((n) => n !== 'direct'))
      console.log(
        `\n${name}/direct: loop delay p99 ${(m(name, 'loopP99') / m('direct', 'loopP99')).toFixed(3)}, ` +
          `request p99 ${(m(name, 'reqP99') / m('direct', 'reqP99')).toFixed(3)}, ` +
          `all done ${(m(name, 'allDoneMs') / m('direct', 'allDoneMs')).toFixed(2)}`,
      )
}

async function burst(spawner: Spawner, mark: () => void, report: () => Promise<number[]>): Promise<Sample> {
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  mark()
  // the histogram's first tick is not recorded: let it and the pinger's mark land first
  await sleep(50)
  const cwd = os.tmpdir()
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
  const t0 = performance.now()
  const procs: GroupProcess[] = []
  for (let i = 0; i < spawns; i++)
    procs.push(
      spawnGroup({ command: 'cat', args: [], cwd, env, killGraceMs: 1000, stdin: `child ${i}\n` }, spawner),
    )
  for (const proc of procs) proc.stdout.resume()
  await Promise.all(procs.map((p) => p.started))
  const allSpawnedMs = performance.now() - t0
  const outcomes = await Promise.all(procs.map((p) => p.done))
  const allDoneMs = performance.now() - t0
  loop.disable()
  const latencies = await report()
  const failed = outcomes.filter((o) => o.exitCode !== 0)
  if (failed.length > 0) throw new Error(`${failed.length} children failed: ${JSON.stringify(failed[0])}`)
  const sortedLat = [...latencies].sort((a, b) => a - b)
  const pct = (p: number) =>
    sortedLat[Math.min(sortedLat.length - 1, Math.ceil((p / 100) * sortedLat.length) - 1)] ?? NaN
  return {
    loopP50: loop.percentile(50) / 1e6,
    loopP99: loop.percentile(99) / 1e6,
    loopMax: loop.max / 1e6,
    reqP50: pct(50),
    reqP99: pct(99),
    reqMax: sortedLat.at(-1) ?? NaN,
    requests: latencies.length,
    allSpawnedMs,
    allDoneMs,
  }
}

main().catch((err) => {
  console.error(err instanceof BenchError ? err.message : err)
  process.exit(err instanceof BenchError ? 2 : 1)
})
