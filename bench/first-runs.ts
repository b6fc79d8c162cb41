/**
 * What a production start's first runs cost: for each start of `node dist/main.js serve` (fresh DATA_DIR, the
 * integration tests' env, the mock model), the wall time of its first one-shot run of an agent
 * (`POST /v1/runs?wait=true`, an instant mock answer), then of a second one, and the server's CPU time for each
 * (/proc, 10 ms ticks). What an idle start leaves to the first use (modules loaded then: docs/ARCHITECTURE.md,
 * "Start") is paid by the first run; the second shows the run's own cost.
 *
 * With `--baseline <dir>` (another checkout, built) its server is started in turns with this one, alternating which
 * goes first, and both are printed side by side. `--agent` (default codex: a warm run, a thread on the shared
 * app-server, which the first run starts; claude: a `claude -p` process per run) picks the agent.
 *
 * Usage: npx tsx bench/first-runs.ts [--iterations N] [--agent codex|acp:codex-acp|...] [--baseline <dir>]
 * Not a test: exits 0 when every run answered, 1 otherwise. Every server is stopped and every temp dir removed.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { startMockLlm } from '../test/mock-llm/index.js'
import { gatewayEnv, testApiKey } from '../test/support/gateway.js'
import { printMachine } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median } from './stats.js'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const { values } = benchArgs({
  options: {
    iterations: { type: 'string' },
    agent: { type: 'string', default: 'codex' },
    baseline: { type: 'string' },
  },
})
const iterations = intOption(values.iterations, 4, 'iterations')
const agent = values.agent ?? 'codex'
const thisMain = path.join(root, 'dist/main.js')
if (!existsSync(thisMain)) throw new BenchError(`${thisMain} is missing: run \`npm run build\` first`)
const baselineMain = values.baseline ? path.resolve(values.baseline, 'dist/main.js') : undefined
if (baselineMain && !existsSync(baselineMain))
  throw new BenchError(`${baselineMain} is missing: build the baseline checkout first`)

const cpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'agw-bench-first-runs-'))
process.env.AGW_TEST_TMP = tmp
const mock = await startMockLlm()
mock.setDefault({ kind: 'text', text: 'first-runs answer' })

interface Result {
  firstMs: number
  firstCpuMs: number
  secondMs: number
  secondCpuMs: number
}

async function once(main: string): Promise<Result> {
  const { env, dir } = gatewayEnv(mock, {
    CODEX_CONFINE_READS: 'false',
    ANTHROPIC_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: testApiKey,
    CLAUDE_CODE_MAX_RETRIES: '0',
  })
  const port = await freePort()
  const child = spawn(process.execPath, [main, 'serve'], {
    cwd: dir,
    env: { ...env, MALLOC_ARENA_MAX: '1', PORT: String(port), NODE_ENV: 'production' } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const url = `http://127.0.0.1:${port}`
  try {
    const t0 = performance.now()
    while (
      !(await fetch(`${url}/health`).then(
        (r) => r.text().then(() => r.ok),
        () => false,
      ))
    ) {
      if (child.exitCode !== null || performance.now() - t0 > 60_000)
        throw new Error(`no /health:\n${stderr}`)
      await sleep(10)
    }
    // the agents' probes are under way at start: a run waits for its agent's, so it is waited for first
    await fetch(`${url}/v1/agents`).then((r) => r.text())
    await sleep(1000)
    const run = async () => {
      const cpu0 = cpuMs(child.pid!)
      const t = performance.now()
      const res = await fetch(`${url}/v1/runs?wait=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agent, prompt: 'say it', sandbox: 'workspace-write' }),
      })
      const body = (await res.json()) as { status?: string; finalResponse?: string }
      const ms = performance.now() - t
      if (body.finalResponse !== 'first-runs answer') throw new Error(`run answered ${JSON.stringify(body)}`)
      return [ms, cpuMs(child.pid!) - cpu0] as const
    }
    const [firstMs, firstCpuMs] = await run()
    const [secondMs, secondCpuMs] = await run()
    return { firstMs, firstCpuMs, secondMs, secondCpuMs }
  } finally {
    child.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
}

console.log(`first runs of ${agent} after a production start (node dist/main.js serve, the mock model)`)
printMachine()
const results: Result[] = []
const baseline: Result[] = []
let failed = false
const attempt = async (into: Result[], main: string) => {
  try {
    into.push(await once(main))
  } catch (err) {
    failed = true
    console.error(String(err))
  }
}
try {
  for (let i = 0; i < iterations; i++) {
    if (!baselineMain) await attempt(results, thisMain)
    else if (i % 2 === 0) {
      await attempt(baseline, baselineMain)
      await attempt(results, thisMain)
    } else {
      await attempt(results, thisMain)
      await attempt(baseline, baselineMain)
    }
  }
} finally {
  await mock.close()
  rmSync(tmp, { recursive: true, force: true })
}
const measures: [string, (r: Result) => number][] = [
  ['first run, ms', (r) => r.firstMs],
  ['server CPU ms for it', (r) => r.firstCpuMs],
  ['second run, ms', (r) => r.secondMs],
  ['server CPU ms for it', (r) => r.secondCpuMs],
]
const column = (rs: Result[], pick: (r: Result) => number) =>
  `${median(rs.map(pick)).toFixed(0)} (${rs.map((r) => pick(r).toFixed(0)).join(', ')})`
console.log(
  markdownTable(
    [
      ['measure (median (each))', ...(baselineMain ? ['baseline'] : []), 'this'],
      ...measures.map(([name, pick]) => [
        name,
        ...(baselineMain ? [column(baseline, pick)] : []),
        column(results, pick),
      ]),
    ],
    [false, true, true],
  ),
)
process.exit(failed ? 1 : 0)
