/**
 * A cold one-shot run's fixed cost, this checkout's gateway against another checkout's, interleaved in one process
 * (`npx tsx bench/run-fixed-cost.ts --baseline <checkout>`; docs/benchmarks.md, "Issue 14, session 46").
 *
 * Starts one gateway of each checkout in this process (from src/ through tsx, or dist/ with `--built`; each has its
 * own modules, so its own spawn host and sweeps), both with CODEX_WARM_RUNS=false and the same mock model, and times
 * `codex --version` (a few ms, no model: the gateway's own work shows) three ways per round, in alternating order:
 * directly (child_process.spawn from this process, until it closed), and `POST /run {cli:'codex',args:['--version']}`
 * on each gateway until the NDJSON answer was read (run-vs-direct.ts's "fixed cost", there against direct only).
 * Printed: the medians (and p10 and min: on a loaded machine the fastest rounds are those no other process
 * preempted), each gateway's added time over direct (paired per round), and this - baseline paired with its 95 % CI.
 * On a shared machine only the paired figures tell a change apart.
 *
 * Usage: npx tsx bench/run-fixed-cost.ts --baseline <checkout> [--rounds N] [--warmup N] [--built]
 */
import { spawn } from 'node:child_process'
import type * as ServerModule from '../src/http/server.js'
import { startMockLlm } from '../test/mock-llm/index.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { benchScope, runBench } from './bench-scope.js'
import { codeRan, gatewayLoader, thisCheckout } from './gateway-modules.js'
import { loadLine, machineLines } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median, medianCi, percentile } from './stats.js'

type Way = 'direct' | 'this' | 'baseline'

async function main(): Promise<void> {
  const { values } = benchArgs({
    options: {
      baseline: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      built: { type: 'boolean' },
    },
  })
  if (!values.baseline) throw new BenchError('--baseline <checkout> is required')
  const rounds = intOption(values.rounds, 60, 'rounds')
  const warmup = intOption(values.warmup, 5, 'warmup', 0)
  const built = values.built ?? false
  const scope = benchScope('agw-fixed-')
  const mock = await startMockLlm()
  const servers: ServerModule.RunningServer[] = []
  try {
    const start = async (root: string) => {
      const { startServer } = await gatewayLoader(built, root)<typeof ServerModule>('http/server.js')
      const { env, dir } = gatewayEnv(mock, { CODEX_WARM_RUNS: 'false' })
      const server = await startServer({ env, cwd: dir, logger: false })
      servers.push(server)
      return server
    }
    const gateways = { this: await start(thisCheckout), baseline: await start(values.baseline) }
    const binary = gateways.this.ctx.registry.get('cli') as unknown as { resolve(cli: string): string | null }
    const codex = binary.resolve('codex')
    if (!codex) throw new BenchError('codex is not installed (npm ci installs the pinned @openai/codex)')

    const direct = () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(codex, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] })
        child.stdout.resume()
        child.stderr.resume()
        child.once('error', reject)
        child.once('close', (code) =>
          code === 0 ? resolve() : reject(new BenchError(`codex --version exited ${code}`)),
        )
      })
    const body = JSON.stringify({ cli: 'codex', args: ['--version'] })
    const viaRun = (server: ServerModule.RunningServer) => async () => {
      const res = await fetch(`${server.url}/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(60_000),
      })
      const text = await res.text()
      if (res.status !== 200 || !text.includes('"type":"exit","code":0'))
        throw new BenchError(`POST /run answered ${res.status}: ${text}`)
    }
    const run: Record<Way, () => Promise<void>> = {
      direct,
      this: viaRun(gateways.this),
      baseline: viaRun(gateways.baseline),
    }

    for (const line of machineLines(loadLine('at the start'))) console.log(line)
    console.log(`gateways: ${codeRan(built)}; this ${thisCheckout}, baseline ${values.baseline}`)
    const times: Record<Way, number[]> = { direct: [], this: [], baseline: [] }
    for (let i = 0; i < warmup + rounds; i++) {
      const order: Way[] = i % 2 === 0 ? ['direct', 'this', 'baseline'] : ['baseline', 'this', 'direct']
      const round: Partial<Record<Way, number>> = {}
      for (const way of order) {
        const t0 = performance.now()
        await run[way]()
        round[way] = performance.now() - t0
      }
      if (i >= warmup) for (const way of order) times[way].push(round[way]!)
      scope.checkStop()
    }
    const overDirect = (way: 'this' | 'baseline') => times[way].map((t, i) => t - times.direct[i]!)
    const ci = (v: number[]) => {
      const c = medianCi(v)
      return c ? `${c[0].toFixed(2)} .. ${c[1].toFixed(2)}` : '-'
    }
    console.log(`\nprogram: codex --version; ${rounds} rounds (+${warmup} warm-up), interleaved\n`)
    console.log(
      markdownTable(
        [
          ['way', 'median ms', 'p10 ms', 'min ms', 'added over direct, paired median ms', '95% CI'],
          ...(['direct', 'this', 'baseline'] as const).map((way) => [
            way,
            median(times[way]).toFixed(2),
            percentile(times[way], 10).toFixed(2),
            Math.min(...times[way]).toFixed(2),
            way === 'direct' ? '-' : median(overDirect(way)).toFixed(2),
            way === 'direct' ? '-' : ci(overDirect(way)),
          ]),
        ],
        [false, true, true, true, true, true],
      ),
    )
    const paired = times.this.map((t, i) => t - times.baseline[i]!)
    console.log(`\nthis - baseline, paired: ${median(paired).toFixed(2)} ms (95% CI ${ci(paired)})`)
    console.log(loadLine('at the end'))
  } finally {
    for (const server of servers) await server.close()
    await mock.close()
    scope.close()
  }
}

runBench(main)
