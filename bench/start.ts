/**
 * Production start: how long `node dist/main.js serve` (what `npm start` runs) takes to answer GET /health,
 * and its RSS once idle (`npm run build && npx tsx bench/start.ts`).
 *
 * Each iteration starts the built server on a free loopback port with a fresh DATA_DIR and the integration
 * tests' env (no model provider needed: nothing is run), polls GET /health from the moment of spawn() until
 * it answers 200 (and times the "listening" log line on the way), then waits `--settle` seconds and reads the
 * server's VmRSS (and that of any process below it, e.g. a warm codex app-server). It also reads the CPU time
 * the server used until /health answered, which a loaded machine does not inflate as much as wall time. With `--entry src` it runs
 * `node --import tsx src/main.ts serve` instead (the development path) for comparison. Not a test: exits 0 when
 * every start answered /health, 1 otherwise. Every temp dir is removed and every server stopped.
 *
 * With `--baseline <dir>` (another checkout, built: e.g. `git archive <commit> | tar -x -C <dir>`, a
 * node_modules link, `npx tsc -p tsconfig.build.json`) it starts that checkout's dist/main.js too, in turns
 * with this one (alternating which goes first), and prints both side by side with the ratio this/baseline:
 * on a shared machine the load changes from minute to minute, the ratio of paired runs much less.
 *
 * `--node-flags="<flags>"` adds Node/V8 flags to this checkout's server (not the baseline's), to weigh them;
 * `--env NAME=value` (repeatable) sets an environment variable for it the same way. Each checkout's server also
 * gets the variables its package.json `start` script sets before `node` (e.g. `MALLOC_ARENA_MAX=1 node ...`):
 * the bench starts what `npm start` starts.
 *
 * `--temp-entries N` gives every server (this and baseline) a temp dir of its own holding N entries (empty files
 * and directories named as other programs' are), as a long-lived machine's /tmp may: what a start-up sweep of the
 * temp dir costs.
 *
 * Usage: npx tsx bench/start.ts [--iterations N] [--settle S] [--entry dist|src] [--baseline <dir>] [--temp-entries N]
 *        [--node-flags="<flags>"] [--env NAME=value ...]
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { gatewayEnv } from '../test/support/gateway.js'
import { listProcesses } from '../test/support/processes.js'
import { printMachine } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median, percentile } from './stats.js'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const { values } = benchArgs({
  options: {
    iterations: { type: 'string' },
    settle: { type: 'string' },
    entry: { type: 'string', default: 'dist' },
    baseline: { type: 'string' },
    'node-flags': { type: 'string' },
    env: { type: 'string', multiple: true },
    'temp-entries': { type: 'string' },
  },
})
const iterations = intOption(values.iterations, 5, 'iterations')
const settle = intOption(values.settle, 5, 'settle', 0)
const tempEntries = intOption(values['temp-entries'], 0, 'temp-entries', 0)
const entry = values.entry === 'src' ? 'src' : 'dist'
const main = path.join(root, entry === 'dist' ? 'dist/main.js' : 'src/main.ts')
if (!existsSync(main)) throw new BenchError(`${main} is missing: run \`npm run build\` first`)
/** Node or V8 flags for this checkout's server only (`--node-flags=--max-semi-space-size=1`), to weigh them. */
const nodeFlags = values['node-flags']?.split(/\s+/).filter(Boolean) ?? []
const baselineMain = values.baseline ? path.resolve(values.baseline, 'dist/main.js') : undefined
if (baselineMain && !existsSync(baselineMain))
  throw new BenchError(`${baselineMain} is missing: build the baseline checkout first`)
/** `--env NAME=value` for this checkout's server only. */
const extraEnv = Object.fromEntries(
  (values.env ?? []).map((pair) => {
    const eq = pair.indexOf('=')
    if (eq < 1) throw new BenchError(`--env wants NAME=value, got "${pair}"`)
    return [pair.slice(0, eq), pair.slice(eq + 1)]
  }),
)

/** The variables a checkout's `npm start` sets before `node` (`"start": "A=1 B=2 node dist/main.js serve"`). */
function startScriptEnv(checkout: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(path.join(checkout, 'package.json'), 'utf8')) as {
    scripts?: { start?: string }
  }
  const prefix = /^((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*)node\s/.exec(pkg.scripts?.start ?? '')?.[1] ?? ''
  return Object.fromEntries(
    prefix
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
  )
}
const thisStartEnv = { ...startScriptEnv(root), ...extraEnv }
const baselineStartEnv = values.baseline ? startScriptEnv(path.resolve(values.baseline)) : {}
const tsx = new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url).href

/** A /proc/<pid>/status field in kB (VmRSS; RssAnon: heap and malloc; RssFile: mapped files, the node binary's code). */
const statusKb = (pid: number, field = 'VmRSS'): number => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0)
  } catch {
    return 0
  }
}
const rssKb = (pid: number): number => statusKb(pid)

/** CPU time (user + system) the process used so far, ms (/proc/<pid>/stat, 100 ticks per second). */
const cpuMs = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * 10
  } catch {
    return Number.NaN
  }
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

async function once(script = main, flags = nodeFlags, startEnv: Record<string, string> = thisStartEnv) {
  const { env, dir } = gatewayEnv(null)
  const port = await freePort()
  const args = [...flags, ...(entry === 'dist' || script !== main ? [] : ['--import', tsx]), script, 'serve']
  const t0 = performance.now()
  const child = spawn(process.execPath, args, {
    cwd: dir,
    env: {
      ...env,
      ...startEnv,
      PORT: String(port),
      ...(crowdedTemp ? { TMPDIR: crowdedTemp } : {}),
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
    } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let listeningMs = Number.NaN
  let output = ''
  const onData = (d: Buffer) => {
    output += d.toString()
    if (Number.isNaN(listeningMs) && output.includes('agent-gateway listening'))
      listeningMs = performance.now() - t0
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  try {
    let healthMs = Number.NaN
    let healthCpuMs = Number.NaN
    while (child.exitCode === null && performance.now() - t0 < 60_000) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`)
        .then(async (r) => {
          await r.text()
          return r.status === 200
        })
        .catch(() => false)
      if (ok) {
        healthMs = performance.now() - t0
        healthCpuMs = cpuMs(child.pid!)
        break
      }
      await sleep(5)
    }
    if (Number.isNaN(healthMs)) throw new Error(`no /health answer:\n${output}`)
    await sleep(settle * 1000)
    const below = listProcesses().filter((p) => p.ppid === child.pid)
    return {
      listeningMs,
      healthMs,
      healthCpuMs,
      rssMb: rssKb(child.pid!) / 1024,
      anonMb: statusKb(child.pid!, 'RssAnon') / 1024,
      fileMb: statusKb(child.pid!, 'RssFile') / 1024,
      childrenMb: below.reduce((s, p) => s + rssKb(p.pid), 0) / 1024,
      children: below.length,
    }
  } finally {
    child.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'agw-bench-start-'))
process.env.AGW_TEST_TMP = tmp
/** The servers' temp dir with --temp-entries: files, and directories that look like other programs'. */
const crowdedTemp = tempEntries > 0 ? path.join(tmp, 'crowded-tmp') : undefined
if (crowdedTemp) {
  mkdirSync(crowdedTemp)
  for (let i = 0; i < tempEntries; i++)
    if (i % 10 === 0) mkdirSync(path.join(crowdedTemp, `systemd-private-${i}`))
    else writeFileSync(path.join(crowdedTemp, `tmp-${i}`), '')
  console.log(`temp dir of the servers: ${tempEntries} entries`)
}
console.log(
  `production start (${entry === 'dist' ? 'node dist/main.js serve' : 'node --import tsx src/main.ts serve'})`,
)
printMachine()
if (nodeFlags.length > 0) console.log(`node flags (this): ${nodeFlags.join(' ')}`)
const envText = (e: Record<string, string>) =>
  Object.entries(e)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ') || '(none)'
console.log(`env (this): ${envText(thisStartEnv)}`)
if (baselineMain) console.log(`env (baseline): ${envText(baselineStartEnv)}`)
type Result = Awaited<ReturnType<typeof once>>
const results: Result[] = []
const baseline: Result[] = []
let failed = false
const attempt = async (into: Result[], script?: string) => {
  try {
    into.push(await (script ? once(script, [], baselineStartEnv) : once()))
  } catch (err) {
    failed = true
    console.error(String(err))
  }
}
try {
  for (let i = 0; i < iterations; i++) {
    if (!baselineMain) await attempt(results)
    else if (i % 2 === 0) {
      await attempt(baseline, baselineMain)
      await attempt(results)
    } else {
      await attempt(results)
      await attempt(baseline, baselineMain)
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
const measures: [string, (r: Result) => number, number][] = [
  ['"listening" log line, ms after spawn', (r) => r.listeningMs, 0],
  ['first 200 from GET /health, ms after spawn', (r) => r.healthMs, 0],
  ['CPU ms the server used until then', (r) => r.healthCpuMs, 0],
  [`server RSS MB, ${settle} s after /health`, (r) => r.rssMb, 1],
  ['of it anonymous (V8 heap, malloc), MB', (r) => r.anonMb, 1],
  ['of it mapped files (node binary, libraries), MB', (r) => r.fileMb, 1],
  ['RSS MB of its child processes', (r) => r.childrenMb, 1],
  ['child processes', (r) => r.children, 0],
]
if (baselineMain && results.length > 0 && baseline.length > 0) {
  console.log(`baseline: ${baselineMain}`)
  console.log(
    markdownTable(
      [
        ['measure (medians)', 'baseline', 'this', 'this/baseline'],
        ...measures.map(([name, pick, digits]) => {
          const b = median(baseline.map(pick))
          const t = median(results.map(pick))
          return [name, b.toFixed(digits), t.toFixed(digits), b > 0 ? (t / b).toFixed(2) : '-']
        }),
      ],
      [false, true, true, true],
    ),
  )
} else if (results.length > 0)
  console.log(
    markdownTable(
      [
        ['measure', 'median', 'p90', 'min', 'max'],
        ...measures.map(([name, pick, digits]) => {
          const xs = results.map(pick)
          return [
            name,
            median(xs).toFixed(digits),
            percentile(xs, 90).toFixed(digits),
            Math.min(...xs).toFixed(digits),
            Math.max(...xs).toFixed(digits),
          ]
        }),
      ],
      [false, true, true, true, true],
    ),
  )
process.exit(failed ? 1 : 0)
