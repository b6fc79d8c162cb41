/**
 * The gateway's CPU per warm session turn, this checkout against a baseline, paired in one process
 * (`npx tsx bench/turn-cpu-paired.ts --baseline <checkout> [--built]`).
 *
 * bench/turn-cpu.ts measures one gateway's CPU per turn in windows; on a shared machine its windows move by ±1 ms,
 * so two runs of it do not tell a change of 0.1-0.3 ms apart. Here two gateways run in this process: this
 * checkout's and the --baseline checkout's (its dist/ or src/ and node_modules), each with one session on a
 * replaying app-server of its own (bench/replay-app-server: a recorded codex 0.169.0 turn, one notification per
 * write 1 ms apart, next to no CPU) and an HTTP client (undici's fetch, `POST /v1/sessions/:id/turns?wait=true`)
 * on a worker thread of its own. Windows of `--turns` turns of one gateway alternate, which goes first in a round
 * alternating too; for each window the CPU time of this process's main thread (where both gateways run: from
 * /proc's schedstat, in ns) and of the whole process (process.cpuUsage) per turn. Prints each gateway's medians
 * and this - baseline paired per round (median, 95 % CI). The main thread's figure holds the gateway's own work
 * and the bench's message to and from its client thread (the same for both); the process's adds the client
 * threads, V8's compiler and GC threads.
 *
 * Usage: npx tsx bench/turn-cpu-paired.ts --baseline <checkout> [--turns N] [--rounds R] [--warmup W] [--built]
 *          [--env NAME=value ...] [--cpu-prof <prefix>]
 *   --turns per window, default 100; --rounds windows of each gateway, default 20; --warmup turns of each first,
 *   default 200; --env a setting of this checkout's gateway only; --built both gateways from their dist/
 *   (`npm run build` in each first); --cpu-prof a V8 sampling profile (50 µs) of the main thread over each
 *   gateway's windows, <prefix>-this-R.cpuprofile and <prefix>-base-R.cpuprofile (bench/cpu-profile-summary.ts).
 * Not a test: exits 0 when every turn ended as recorded and nothing was left running, 1 otherwise.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import inspector from 'node:inspector/promises'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import type * as ServerModule from '../src/http/server.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { listProcesses } from '../test/support/processes.js'
import { codeRan, gatewayLoader, thisCheckout } from './gateway-modules.js'
import { loadLine, printMachine } from './machine.js'
import { BenchError, benchArgs, envOption, intOption } from './options.js'
import { markdownTable, median, medianCi } from './stats.js'
import { turnClientThread } from './turn-client-thread.js'

const replayAppServer = path.join(import.meta.dirname, 'replay-app-server', 'app-server.mjs')
const answer = 'ok'
const json = { 'content-type': 'application/json' }

function options() {
  const { values } = benchArgs({
    options: {
      baseline: { type: 'string' },
      turns: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      built: { type: 'boolean', default: false },
      env: { type: 'string', multiple: true },
      'cpu-prof': { type: 'string' },
    },
  })
  if (!values.baseline) throw new BenchError('--baseline <checkout> is required')
  return {
    baseline: path.resolve(values.baseline),
    turns: intOption(values.turns, 100, '--turns'),
    rounds: intOption(values.rounds, 20, '--rounds'),
    warmup: intOption(values.warmup, 200, '--warmup', 0),
    built: values.built === true,
    env: envOption(values.env),
    cpuProf: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
  }
}

/** The main thread's CPU time so far in ms (schedstat: ns on the CPU). */
function mainThreadMs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6
}

const clientThread = turnClientThread(answer)

interface Gateway {
  name: 'this' | 'base'
  server: ServerModule.RunningServer
  worker: Worker
  turn: () => Promise<void>
}

async function startGateway(
  name: Gateway['name'],
  root: string,
  built: boolean,
  own: Record<string, string>,
): Promise<Gateway> {
  const { startServer } = await gatewayLoader(built, root)<typeof ServerModule>('http/server.js')
  const { env, dir } = gatewayEnv(null, {
    CODEX_PATH: replayAppServer,
    CODEX_WARM_RUNS: 'false',
    // never asked: the replaying app-server answers by itself
    CODEX_API_BASE_URL: 'http://127.0.0.1:9/v1',
    CODEX_API_KEY: 'unused',
    MODEL_KEY_PROXY: 'false',
    ...own,
  })
  const server = await startServer({ env, cwd: dir, logger: false })
  const created = await fetch(`${server.url}/v1/sessions`, { method: 'POST', headers: json, body: '{}' })
  const session = (await created.json()) as { id: string }
  if (created.status !== 201) throw new BenchError(`${name}: POST /v1/sessions: ${JSON.stringify(session)}`)
  const worker = new Worker(clientThread, { eval: true })
  // its first message is its thread id, not needed here
  await new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  const turn = () =>
    new Promise<void>((resolve, reject) => {
      worker.once('message', (m: { ok?: boolean; error?: string }) =>
        m.ok ? resolve() : reject(new BenchError(`${name}: turn: ${m.error}`)),
      )
      worker.postMessage({ url: server.url, sessionId: session.id })
    })
  return { name, server, worker, turn }
}

interface Window {
  mainMs: number
  processMs: number
}

async function window(turns: number, turn: () => Promise<void>): Promise<Window> {
  const main0 = mainThreadMs()
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < turns; i++) await turn()
  const cpu = process.cpuUsage(cpu0)
  return { mainMs: (mainThreadMs() - main0) / turns, processMs: (cpu.user + cpu.system) / 1000 / turns }
}

async function main(): Promise<void> {
  const o = options()
  printMachine()
  console.log(loadLine('at the start'))
  console.log(
    `runs:    ${o.warmup} warm-up turns of each gateway, then ${o.rounds} rounds of a window of ${o.turns} turns of each (which first alternates); this ${thisCheckout}, the baseline ${o.baseline}, both from ${codeRan(o.built)}`,
  )
  const gateways: Gateway[] = []
  try {
    gateways.push(await startGateway('this', thisCheckout, o.built, o.env))
    gateways.push(await startGateway('base', o.baseline, o.built, {}))
    for (const g of gateways) for (let i = 0; i < o.warmup; i++) await g.turn()
    const windows: Record<Gateway['name'], Window[]> = { this: [], base: [] }
    const profiler = o.cpuProf ? new inspector.Session() : undefined
    profiler?.connect()
    await profiler?.post('Profiler.enable')
    await profiler?.post('Profiler.setSamplingInterval', { interval: 50 })
    for (let r = 0; r < o.rounds; r++) {
      for (const g of r % 2 === 0 ? gateways : [...gateways].reverse()) {
        await profiler?.post('Profiler.start')
        windows[g.name].push(await window(o.turns, g.turn))
        if (profiler && o.cpuProf) {
          const { profile } = await profiler.post('Profiler.stop')
          writeFileSync(`${o.cpuProf}-${g.name}-${r + 1}.cpuprofile`, JSON.stringify(profile))
        }
      }
    }
    profiler?.disconnect()
    const f = (v: number) => v.toFixed(3)
    const ci = (values: number[]) => {
      const c = medianCi(values)
      return c ? `${f(c[0])} .. ${f(c[1])}` : 'n/a'
    }
    const rows = (['mainMs', 'processMs'] as const).map((k) => {
      const diff = windows.this.map((w, i) => w[k] - windows.base[i]![k])
      return [
        k === 'mainMs' ? 'main thread' : 'process',
        f(median(windows.this.map((w) => w[k]))),
        f(median(windows.base.map((w) => w[k]))),
        f(median(diff)),
        ci(diff),
      ]
    })
    console.log()
    console.log(
      markdownTable(
        [
          ['ms of CPU per turn', 'this (median)', 'baseline (median)', 'this - baseline, paired', '95 % CI'],
          ...rows,
        ],
        [false, true, true, true, false],
      ),
    )
    console.log(
      `\nper round, main thread this / baseline: ${windows.this.map((w, i) => `${f(w.mainMs)}/${f(windows.base[i]!.mainMs)}`).join(' ')}`,
    )
  } finally {
    for (const g of gateways) {
      await g.worker.terminate().catch(() => 0)
      await g.server.close().catch(() => {})
    }
    console.log(loadLine('at the end'))
  }
  const left = listProcesses().filter((p) => p.cmd.includes(replayAppServer))
  if (left.length > 0) throw new BenchError(`left running: ${left.map((p) => p.pid).join(', ')}`)
  console.log('cleanup: both gateways and their replaying app-servers are closed')
}

main().catch((err) => {
  console.error(err instanceof BenchError ? `turn-cpu-paired: ${err.message}` : err)
  process.exitCode = 1
})
