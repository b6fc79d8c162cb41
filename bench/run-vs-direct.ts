/**
 * Overhead of the gateway over running codex directly (`npm run bench`).
 *
 * Starts the mock model server (text answer, no delay) and a gateway in this process, pointed at the mock
 * exactly like the tests do, then times three ways of getting one codex answer, interleaved per iteration
 * so machine noise hits all of them alike:
 *   direct  the native codex binary with the argv and env the codex-exec driver would use, less the system CA
 *           bundle the gateway names for the codex it spawns (CODEX_CA_CERTIFICATE): codex as a user runs it
 *   /run    POST /run {cli:'codex', ...} (the provider -c overrides are prepended by the gateway)
 *   /chat   POST /chat {prompt} (the codex driver, plus probe(), cached after the first call)
 *   /v1/runs  POST /v1/runs?wait=true {prompt} until the finished run's JSON is read
 * /chat and /v1/runs are one-shot codex runs: with CODEX_WARM_RUNS (the default) a thread on the gateway's
 * already running codex app-server (started by the warm-up rounds), else `codex exec` like direct.
 * BENCH_WARM_RUNS=false runs the gateway with CODEX_WARM_RUNS=false (every run a cold `codex exec`).
 * Then, to show where the added time goes: HTTP round trips that spawn nothing, the gateway's fixed cost
 * per request measured on `codex --version` (direct vs /run, paired), the time child_process.spawn()
 * blocks, and probe() cold vs cached. docs/benchmarks.md explains the output.
 *
 * Usage: npx tsx bench/run-vs-direct.ts [--iterations N] [--warmup N] [--order fixed|rotate]
 *   --iterations (or BENCH_ITERATIONS) measured iterations, default 30; --warmup rounds, default 3;
 *   --order rotate shifts the order every iteration so each mode takes each position equally often.
 * Not a test: it exits 0 when every run produced the expected answer, 1 otherwise (or on Ctrl-C, after
 * cleaning up).
 */
import { realpathSync } from 'node:fs'
import { CodexExecDriver } from '../src/agents/codex/exec-driver.js'
import { codexProviderArgs } from '../src/agents/codex/provider-args.js'
import { type RunningServer, startServer } from '../src/http/server.js'
import { type MockLlm, startMockLlm } from '../test/mock-llm/index.js'
import { gatewayEnv, testModel } from '../test/support/gateway.js'
import { benchScope, runBench } from './bench-scope.js'
import { asUserRunsIt, spawnAndRead } from './direct-launch.js'
import { loadLine, machineLines } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median, medianCi, summarize } from './stats.js'

const answer = 'Hello from the benchmark mock.'
const prompt = 'Say hello.'
/**
 * `codex exec --json --skip-git-repo-check -` plus the --sandbox and --model the codex-exec driver passes:
 * without them codex falls back to its built-in default model, which changes the request it sends (and so
 * the work it does). With them, the argv equals direct's except that the gateway puts the provider -c
 * overrides before `exec` instead of after it.
 */
const runArgs = (b: Bench) => [
  'exec',
  '--json',
  '--sandbox',
  b.server.ctx.config.CODEX_SANDBOX,
  '--model',
  testModel,
  '--skip-git-repo-check',
  '-',
]
const opTimeoutMs = 60_000
const targetRatio = 1.05

type Mode = 'direct' | '/run' | '/chat' | '/v1/runs'
const modes: Mode[] = ['direct', '/run', '/chat', '/v1/runs']

interface Sample {
  /** Start to last byte read and (direct) process closed. */
  totalMs: number
  /** HTTP only: until the response headers arrived. */
  headersMs: number | null
  /** direct only: how long child_process.spawn() blocked (fork/exec is synchronous in Node). */
  spawnCallMs: number | null
  /** Until the first byte of codex's stdout reached the client. */
  firstStdoutMs: number | null
  /** Model requests the mock recorded during this run. */
  modelRequests: number
  /** The model of the first of them. */
  model: string | null
}

type Order = 'fixed' | 'rotate'

function parseOptions(): { iterations: number; warmup: number; order: Order } {
  const { values } = benchArgs({
    options: {
      iterations: { type: 'string', short: 'n' },
      warmup: { type: 'string' },
      order: { type: 'string' },
    },
    strict: true,
  })
  const order = values.order ?? 'fixed'
  if (order !== 'fixed' && order !== 'rotate')
    throw new BenchError(`order must be fixed or rotate, got "${order}"`)
  const count = intOption
  return {
    iterations: count(values.iterations ?? process.env.BENCH_ITERATIONS, 30, 'iterations', 1),
    warmup: count(values.warmup, 3, 'warmup', 0),
    order,
  }
}

interface Bench {
  mock: MockLlm
  server: RunningServer
  driver: CodexExecDriver
  /** The environment the gateway was started with. */
  env: NodeJS.ProcessEnv
  binary: string
  workspace: string
}

// ---------------------------------------------------------------- the three modes

interface Timed {
  totalMs: number
  headersMs: number | null
  spawnCallMs: number | null
  firstStdoutMs: number | null
}

/** Spawns the CLI directly in the bench workspace (see spawnAndRead in direct-launch.ts). */
async function spawnDirect(
  b: Bench,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdin: string | null,
): Promise<Timed & { code: number | null; stdout: string; stderr: string }> {
  const run = await spawnAndRead({ binary: b.binary, args, cwd: b.workspace, env, stdin }, opTimeoutMs)
  return { ...run, headersMs: null }
}

/** POST /run, reading the NDJSON stream to the end; parsing happens after the clock stopped. */
async function postRun(
  b: Bench,
  args: string[],
  stdin: string | undefined,
): Promise<Timed & { status: number; text: string; stdout: string; exit: number | undefined }> {
  const body = JSON.stringify({ cli: 'codex', args, ...(stdin !== undefined ? { stdin } : {}) })
  const t0 = performance.now()
  const res = await fetch(`${b.server.url}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(opTimeoutMs),
  })
  const headersMs = performance.now() - t0
  const decoder = new TextDecoder()
  let text = ''
  let firstStdoutMs: number | null = null
  for await (const chunk of res.body ?? []) {
    text += decoder.decode(chunk, { stream: true })
    if (firstStdoutMs === null && text.includes('"type":"stdout"')) firstStdoutMs = performance.now() - t0
  }
  text += decoder.decode()
  const totalMs = performance.now() - t0

  const frames = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; data?: string; code?: number })
  const stdout = frames
    .filter((f) => f.type === 'stdout')
    .map((f) => f.data)
    .join('')
  const exit = frames.find((f) => f.type === 'exit')?.code
  return { totalMs, headersMs, spawnCallMs: null, firstStdoutMs, status: res.status, text, stdout, exit }
}

async function runDirect(b: Bench): Promise<Sample> {
  // argv and env are built outside the timed section: the baseline is codex alone.
  const { args, env } = asUserRunsIt(b.server, {
    args: b.driver.buildArgs({ prompt, cwd: b.workspace }),
    env: b.driver.childEnv(),
  })
  const before = b.mock.requests.length
  const { code, stdout, stderr, ...timed } = await spawnDirect(b, args, env, prompt)
  if (code !== 0 || !agentMessages(stdout).includes(answer))
    throw new BenchError(
      `direct: codex exited ${code} without the expected answer\nstdout:\n${stdout}\nstderr:\n${stderr}`,
    )
  return { ...timed, ...modelRequests(b.mock, before) }
}

async function runViaRun(b: Bench): Promise<Sample> {
  const before = b.mock.requests.length
  const { status, text, stdout, exit, ...timed } = await postRun(b, runArgs(b), prompt)
  if (status !== 200 || exit !== 0 || !agentMessages(stdout).includes(answer))
    throw new BenchError(`/run: HTTP ${status}, exit ${exit} without the expected answer:\n${text}`)
  return { ...timed, ...modelRequests(b.mock, before) }
}

async function runViaChat(b: Bench): Promise<Sample> {
  const body = JSON.stringify({ prompt })
  const before = b.mock.requests.length
  const t0 = performance.now()
  const res = await fetch(`${b.server.url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(opTimeoutMs),
  })
  const headersMs = performance.now() - t0
  const json = (await res.json()) as { stdout?: string; returncode?: number }
  const totalMs = performance.now() - t0
  if (res.status !== 200 || json.returncode !== 0 || json.stdout?.trim() !== answer)
    throw new BenchError(`/chat: HTTP ${res.status} without the expected answer: ${JSON.stringify(json)}`)
  return { totalMs, headersMs, spawnCallMs: null, firstStdoutMs: null, ...modelRequests(b.mock, before) }
}

async function runViaV1Runs(b: Bench): Promise<Sample> {
  const body = JSON.stringify({ prompt })
  const before = b.mock.requests.length
  const t0 = performance.now()
  const res = await fetch(`${b.server.url}/v1/runs?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(opTimeoutMs),
  })
  const headersMs = performance.now() - t0
  const json = (await res.json()) as { status?: string; finalResponse?: string | null }
  const totalMs = performance.now() - t0
  if (res.status !== 200 || json.status !== 'succeeded' || json.finalResponse?.trim() !== answer)
    throw new BenchError(`/v1/runs: HTTP ${res.status} without the expected answer: ${JSON.stringify(json)}`)
  return { totalMs, headersMs, spawnCallMs: null, firstStdoutMs: null, ...modelRequests(b.mock, before) }
}

const runners: Record<Mode, (b: Bench) => Promise<Sample>> = {
  direct: runDirect,
  '/run': runViaRun,
  '/chat': runViaChat,
  '/v1/runs': runViaV1Runs,
}

/** The texts of codex's agent_message items in `codex exec --json` output. */
function agentMessages(jsonl: string): string[] {
  const texts: string[] = []
  for (const line of jsonl.split('\n')) {
    if (!line.trim()) continue
    try {
      const ev = JSON.parse(line) as { type?: string; item?: { type?: string; text?: string } }
      if (ev.type === 'item.completed' && ev.item?.type === 'agent_message' && ev.item.text)
        texts.push(ev.item.text)
    } catch {
      // not JSON (codex prints only JSON lines on stdout with --json; tolerate anything else)
    }
  }
  return texts
}

function modelRequests(mock: MockLlm, before: number): { modelRequests: number; model: string | null } {
  const made = mock.requests.slice(before)
  const first = made[0]?.body as { model?: unknown } | undefined
  return { modelRequests: made.length, model: typeof first?.model === 'string' ? first.model : null }
}

// ---------------------------------------------------------------- side measurements

interface Floors {
  /** GET /clis: HTTP + Fastify, nothing spawned. */
  get: number[]
  /** POST /run refused with 400 (CLI not allowed): body parsing, zod validation, error reply; no spawn. */
  post: number[]
}

/** Round trips of requests that spawn nothing: what HTTP and Fastify cost on their own. */
async function httpFloors(b: Bench, rounds: number): Promise<Floors> {
  const floors: Floors = { get: [], post: [] }
  const refused = JSON.stringify({ cli: 'bench-not-allowed', args: runArgs(b), stdin: prompt })
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now()
    const got = await fetch(`${b.server.url}/clis`, { signal: AbortSignal.timeout(opTimeoutMs) })
    await got.json()
    floors.get.push(performance.now() - t0)
    t0 = performance.now()
    const posted = await fetch(`${b.server.url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: refused,
      signal: AbortSignal.timeout(opTimeoutMs),
    })
    await posted.json()
    floors.post.push(performance.now() - t0)
    if (posted.status !== 400)
      throw new BenchError(`POST /run with an unknown cli answered ${posted.status}, not 400`)
  }
  return floors
}

/**
 * The gateway's fixed cost per request, measured on `codex --version` (a few ms, no model, little noise):
 * direct spawn vs POST /run with the same argv (the provider -c overrides the gateway prepends, then
 * --version), interleaved. Returns the per-round differences /run minus direct.
 */
async function fixedCost(b: Bench, rounds: number): Promise<{ direct: number[]; run: number[] }> {
  const { args, env } = asUserRunsIt(b.server, {
    args: [...codexProviderArgs(b.server.ctx.config, b.server.ctx.registry.runner), '--version'],
    env: b.driver.childEnv(),
  })
  const times = { direct: [] as number[], run: [] as number[] }
  for (let i = 0; i < rounds; i++) {
    const d = await spawnDirect(b, args, env, null)
    if (d.code !== 0) throw new BenchError(`codex --version exited ${d.code}: ${d.stderr}`)
    times.direct.push(d.totalMs)
    const r = await postRun(b, ['--version'], undefined)
    if (r.status !== 200 || r.exit !== 0 || r.stdout !== d.stdout)
      throw new BenchError(`/run codex --version: HTTP ${r.status}, exit ${r.exit}:\n${r.text}`)
    times.run.push(r.totalMs)
  }
  return times
}

/** probe() of a fresh driver (runs `codex --version`), then again (cached). */
async function probeCost(b: Bench): Promise<{ coldMs: number; cachedMs: number; version: string | null }> {
  const fresh = new CodexExecDriver(b.server.ctx.config, b.env)
  let t0 = performance.now()
  const status = await fresh.probe()
  const coldMs = performance.now() - t0
  t0 = performance.now()
  await fresh.probe()
  const cachedMs = performance.now() - t0
  return { coldMs, cachedMs, version: status.version }
}

// ---------------------------------------------------------------- report

const ms = (n: number | null) => (n === null || Number.isNaN(n) ? '-' : n.toFixed(1))
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)}`

function report(
  samples: Record<Mode, Sample[]>,
  extra: {
    floors: Floors
    fixed: Awaited<ReturnType<typeof fixedCost>>
    probe: Awaited<ReturnType<typeof probeCost>>
  },
) {
  const total = (m: Mode) => samples[m].map((s) => s.totalMs)
  const base = median(total('direct'))
  const rows = [['mode', 'median ms', 'p90 ms', 'min ms', 'ratio vs direct', 'added ms']]
  for (const m of modes) {
    const s = summarize(total(m))
    rows.push([
      m,
      ms(s.median),
      ms(s.p90),
      ms(s.min),
      m === 'direct' ? '1.000' : (s.median / base).toFixed(3),
      m === 'direct' ? '-' : signed(s.median - base),
    ])
  }
  console.log(markdownTable(rows, [false, true, true, true, true, true]))

  const verdicts = modes
    .filter((m) => m !== 'direct')
    .map((m) => {
      const ratio = median(total(m)) / base
      return `${m} ${ratio <= targetRatio ? 'meets' : 'MISSES'} the target (ratio ${ratio.toFixed(3)} vs <= ${targetRatio})`
    })
  console.log(`\n${verdicts.join('; ')}`)

  // Where the added time goes.
  const paired = (m: Mode) => samples[m].map((s, i) => s.totalMs - samples.direct[i]!.totalMs)
  const col = (m: Mode, pick: (s: Sample) => number | null) => {
    const v = samples[m].map(pick).filter((x): x is number => x !== null)
    return v.length ? median(v) : null
  }
  const breakdown = [
    [
      'mode',
      'headers ms',
      'first stdout ms',
      'last byte - first stdout ms',
      'paired added ms',
      '95% CI ms',
      'paired ratio',
    ],
  ]
  for (const m of modes) {
    const tail = col(m, (s) => (s.firstStdoutMs === null ? null : s.totalMs - s.firstStdoutMs))
    const ci = m === 'direct' ? null : medianCi(paired(m))
    const added = median(paired(m))
    breakdown.push([
      m,
      ms(col(m, (s) => s.headersMs)),
      ms(col(m, (s) => s.firstStdoutMs)),
      ms(tail),
      m === 'direct' ? '-' : signed(added),
      ci ? `${signed(ci[0])} .. ${signed(ci[1])}` : '-',
      m === 'direct' ? '-' : ((base + added) / base).toFixed(3),
    ])
  }
  console.log(
    '\nWhere the time goes (medians; paired = per iteration, this mode minus direct of the same iteration):\n',
  )
  console.log(markdownTable(breakdown, [false, true, true, true, true, true, true]))
  const models = modes
    .map((m) => {
      const counts = [...new Set(samples[m].map((s) => s.modelRequests))].join('/')
      const names = [...new Set(samples[m].map((s) => s.model ?? '?'))].join('/')
      return `${m} ${counts} (${names})`
    })
    .join(', ')
  console.log(`\nmodel requests per run: ${models}`)
  console.log(
    `HTTP floor, no spawn: GET /clis ${ms(median(extra.floors.get))} ms, POST /run refused (400) ${ms(median(extra.floors.post))} ms (medians of ${extra.floors.get.length})`,
  )
  const fixedDiff = extra.fixed.run.map((t, i) => t - extra.fixed.direct[i]!)
  const fixedCi = medianCi(fixedDiff)
  console.log(
    `fixed cost on \`codex --version\` (${fixedDiff.length} interleaved rounds): direct ${ms(median(extra.fixed.direct))} ms, /run ${ms(median(extra.fixed.run))} ms, paired added ${signed(median(fixedDiff))} ms (95% CI ${fixedCi ? `${signed(fixedCi[0])} .. ${signed(fixedCi[1])}` : '-'})`,
  )
  console.log(
    `child_process.spawn() blocks the event loop ${ms(col('direct', (s) => s.spawnCallMs))} ms (direct, median); the gateway pays the same right after sending /run's headers`,
  )
  console.log(
    `probe(): first call ${ms(extra.probe.coldMs)} ms (spawns \`codex --version\`), cached ${ms(extra.probe.cachedMs)} ms`,
  )
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const { iterations, warmup, order } = parseOptions()
  const scope = benchScope('agw-bench-')
  const { checkStop } = scope
  let mock: MockLlm | undefined
  let server: RunningServer | undefined
  try {
    mock = await startMockLlm()
    mock.setDefault({ kind: 'text', text: answer })
    const warmRuns = process.env.BENCH_WARM_RUNS ?? 'true'
    const { env, dir, workspace } = gatewayEnv(mock, { CODEX_WARM_RUNS: warmRuns })
    server = await startServer({ env, cwd: dir, logger: false })
    const driver = new CodexExecDriver(server.ctx.config, env)
    if (!driver.binary)
      throw new BenchError('codex is not installed (npm ci installs the pinned @openai/codex)')
    if (server.ctx.config.CODEX_MODEL !== testModel)
      throw new BenchError('the gateway is not configured like the tests')
    const b: Bench = { mock, server, driver, env, binary: driver.binary, workspace: realpathSync(workspace) }

    const probe = await probeCost(b)
    console.log(`agent-gateway benchmark: direct codex vs POST /run, POST /chat, POST /v1/runs?wait=true\n`)
    console.log(machineLines(`codex:   ${probe.version ?? 'unknown'}`).join('\n'))
    console.log(loadLine('at the start'))
    console.log(`binary:  ${b.binary}`)
    console.log(`gateway: CODEX_WARM_RUNS=${server.ctx.config.CODEX_WARM_RUNS} (/chat and /v1/runs)`)
    console.log(
      `runs:    ${warmup} warm-up rounds, then ${iterations} iterations, interleaved ${modes.join(', ')}${order === 'rotate' ? ' (order rotated per iteration)' : ''}\n`,
    )

    for (let i = 0; i < warmup; i++) {
      for (const m of modes) await runners[m](b)
      checkStop()
    }
    const samples: Record<Mode, Sample[]> = { direct: [], '/run': [], '/chat': [], '/v1/runs': [] }
    for (let i = 0; i < iterations; i++) {
      // fixed: direct, /run, /chat every iteration; rotate: each mode takes each position equally often.
      const shift = order === 'rotate' ? i % modes.length : 0
      for (const m of [...modes.slice(shift), ...modes.slice(0, shift)]) samples[m].push(await runners[m](b))
      checkStop()
      if (process.stderr.isTTY)
        process.stderr.write(`\r${i + 1}/${iterations}${i + 1 === iterations ? '\n' : ''}`)
    }
    const floors = await httpFloors(b, 50)
    const fixed = await fixedCost(b, 50)
    report(samples, { floors, fixed, probe })
    console.log(`\n${loadLine('at the end')}`)
  } finally {
    await server?.close()
    await mock?.close()
    scope.close()
  }
}

runBench(main)
