/**
 * What a cold one-shot program costs the local runner, start to `done` (its end, after the sweep of what it left),
 * this checkout against another one's, interleaved in one process (`npx tsx bench/runner-end.ts --baseline <dir>`;
 * docs/benchmarks.md, "Issue 14, session 45"). Each checkout's src/process is loaded from its own path, so each has
 * its own spawn host and its own sweeps. Each iteration runs the program once through each, in alternating order,
 * and once directly (child_process.spawn from this process, until it closed) as the floor; printed: the medians and
 * the paired difference (this - baseline) with its 95 % CI, and the added time over direct of each.
 *
 * Usage: npx tsx bench/runner-end.ts --baseline <checkout> [--iterations N] [--warmup N] [-- command args...]
 * (default program: codex --version, the native binary of this checkout's node_modules)
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { loadLine, machineLines } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median, medianCi } from './stats.js'

const { values, positionals } = benchArgs({
  options: { baseline: { type: 'string' }, iterations: { type: 'string' }, warmup: { type: 'string' } },
  allowPositionals: true,
})
if (!values.baseline) throw new BenchError('--baseline <checkout> is required')
const iterations = intOption(values.iterations, 40, 'iterations')
const warmup = intOption(values.warmup, 3, 'warmup', 0)

interface Runner {
  start(spec: object): { done: Promise<{ exitCode: number | null }> }
}
const load = async (root: string): Promise<Runner> => {
  const file = path.resolve(root, 'src/process/local-runner.ts')
  if (!existsSync(file)) throw new BenchError(`${file}: not found`)
  return ((await import(pathToFileURL(file).href)) as { localRunner: Runner }).localRunner
}

const nativeCodex = (): string => {
  const dir = path.resolve('node_modules/@openai')
  const found = ['codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex'].map((p) => path.join(dir, p))
  const bin = found.find((p) => existsSync(p))
  if (!bin) throw new BenchError('no native codex binary under node_modules/@openai')
  return bin
}
const [command, ...args] = positionals.length > 0 ? positionals : [nativeCodex(), '--version']
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' }
const spec = { command: command!, args, cwd: process.cwd(), env, killGraceMs: 500, sweepLeftovers: true }

const timed = async (run: () => Promise<unknown>) => {
  const t0 = performance.now()
  await run()
  return performance.now() - t0
}
const direct = () =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.resume()
    child.stderr.resume()
    child.once('error', reject)
    child.once('close', () => resolve())
  })

const keep = setInterval(() => {}, 60_000)
try {
  for (const line of machineLines(loadLine('at the start'))) console.log(line)
  const self = await load('.')
  const base = await load(values.baseline)
  const through = (runner: Runner) => async () => {
    const { exitCode } = await runner.start(spec).done
    if (exitCode !== 0) throw new BenchError(`${command} exited ${exitCode}`)
  }
  const times = { this: [] as number[], baseline: [] as number[], direct: [] as number[] }
  for (let i = 0; i < warmup + iterations; i++) {
    const order: Array<keyof typeof times> =
      i % 2 === 0 ? ['direct', 'this', 'baseline'] : ['baseline', 'this', 'direct']
    const round: Partial<Record<keyof typeof times, number>> = {}
    for (const way of order)
      round[way] = await timed(way === 'direct' ? direct : through(way === 'this' ? self : base))
    if (i >= warmup) for (const way of order) times[way].push(round[way]!)
  }
  const paired = times.this.map((t, i) => t - times.baseline[i]!)
  const ci = medianCi(paired)
  const overDirect = (way: 'this' | 'baseline') => median(times[way].map((t, i) => t - times.direct[i]!))
  console.log(
    `\nprogram: ${[command, ...args].join(' ')}; ${iterations} iterations (+${warmup} warm-up), interleaved\n`,
  )
  console.log(
    markdownTable(
      [
        ['way', 'median ms', 'added over direct, paired median ms'],
        ['direct', median(times.direct).toFixed(2), '-'],
        ['this', median(times.this).toFixed(2), overDirect('this').toFixed(2)],
        ['baseline', median(times.baseline).toFixed(2), overDirect('baseline').toFixed(2)],
      ],
      [false, true, true],
    ),
  )
  console.log(
    `\nthis - baseline, paired: ${median(paired).toFixed(2)} ms (95% CI ${ci ? `${ci[0].toFixed(2)} .. ${ci[1].toFixed(2)}` : '-'})`,
  )
  console.log(loadLine('at the end'))
} finally {
  clearInterval(keep)
}
