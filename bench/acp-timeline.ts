import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { AgentDriver } from '../src/agents/driver.js'
import { type RunningServer, startServer } from '../src/http/server.js'
import { LocalProcessRunner } from '../src/process/local-runner.js'
import type { LaunchSpec } from '../src/process/runner.js'
import { startMockLlm } from '../test/mock-llm/index.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { loadLine, printMachine } from './machine.js'
import { directCodexExec, gatewayChatAnswers, gatewayRunAnswers } from './one-shot-runs.js'
import { benchArgs, intOption } from './options.js'
import { markdownTable, median } from './stats.js'

const answer = 'ok'
const prompt = 'Say ok.'
const { values } = benchArgs({
  options: {
    iterations: { type: 'string' },
    warmup: { type: 'string' },
    'rust-log': { type: 'string' },
    modes: { type: 'string' },
  },
})
const iterations = intOption(values.iterations, 15, 'iterations')
const warmup = intOption(values.warmup, 2, 'warmup', 0)
const rustLog = values['rust-log']
/** Which of acp, codex, chat, exec to run (comma-separated; default acp, codex and exec). */
const only = new Set((values.modes ?? 'acp,codex,exec').split(','))

/** The marks of the run in progress: (label, ms since its start); null between runs. */
let marks: [string, number][] | null = null
let t0 = 0
let stderrLines: [number, string][] = []
const mark = (label: string) => marks?.push([label, performance.now() - t0])

/**
 * What a JSON-RPC line is: a request/notification by method, an answer by the method it answers. Lines of a
 * process that works for another mode (a ready session or thread started after the last run) are marked too,
 * named by their process.
 */
function describe(sentMethods: Map<string, string>, direction: 'send' | 'recv', line: string): string | null {
  let msg: { id?: number | string; method?: string; result?: unknown; error?: unknown; params?: unknown }
  try {
    msg = JSON.parse(line)
  } catch {
    return null
  }
  if (msg.method) {
    if (msg.id !== undefined && direction === 'send') sentMethods.set(`${msg.id}`, msg.method)
    const p = msg.params as { update?: { sessionUpdate?: string } } | undefined
    const sub = p?.update?.sessionUpdate ? ` ${p.update.sessionUpdate}` : ''
    return `${direction} ${msg.method}${sub}`
  }
  const answered = sentMethods.get(`${msg.id}`) ?? '?'
  return `${direction} answer ${answered}${msg.error ? ' (error)' : ''}`
}

// Tap the stdio of every local agent process the gateway starts.
const start = LocalProcessRunner.prototype.start
LocalProcessRunner.prototype.start = function (spec: LaunchSpec) {
  const tapped = rustLog ? { ...spec, env: { ...spec.env, RUST_LOG: rustLog } } : spec
  const proc = start.call(this, tapped)
  // per process: ids are numbered by each connection, so an answer is matched within its own process
  const sentMethods = new Map<string, string>()
  const who = path.basename(spec.command)
  const write = proc.stdin.write.bind(proc.stdin) as (...a: unknown[]) => boolean
  proc.stdin.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = chunk instanceof Uint8Array ? Buffer.from(chunk).toString() : String(chunk)
    for (const line of text.split('\n')) {
      const d = line.trim() ? describe(sentMethods, 'send', line) : null
      if (d) mark(`${who} ${d}`)
    }
    return write(chunk, ...rest)
  }) as typeof proc.stdin.write
  let buf = ''
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString()
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const d = describe(sentMethods, 'recv', buf.slice(0, i))
      buf = buf.slice(i + 1)
      if (d) mark(`${who} ${d}`)
    }
  })
  if (rustLog)
    proc.stderr.on('data', (d: Buffer) => {
      if (!marks) return
      for (const line of d.toString().split('\n'))
        if (line.trim()) stderrLines.push([performance.now() - t0, line])
    })
  return proc
}

/** Marks the end of every call of the store's methods (`store updateRun`), sync or async. */
function tapStore(store: object): void {
  const target = store as Record<string, unknown>
  for (
    let proto = Object.getPrototypeOf(store);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  )
    for (const name of Object.getOwnPropertyNames(proto)) {
      const fn = target[name]
      if (name === 'constructor' || typeof fn !== 'function' || Object.hasOwn(target, name)) continue
      target[name] = function (this: unknown, ...args: unknown[]) {
        const out = (fn as (...a: unknown[]) => unknown).apply(this, args)
        if (out instanceof Promise) return out.finally(() => mark(`store ${name}`))
        mark(`store ${name}`)
        return out
      }
    }
}

/** Wraps a driver's run() so the events it yields are marked when the run consumes them. */
function tapDriver(driver: AgentDriver): void {
  const run = driver.run.bind(driver)
  driver.run = async function* (req, signal) {
    mark('driver.run')
    for await (const ev of run(req, signal)) {
      const item = 'item' in ev ? ` ${(ev.item as { type?: string }).type}` : ''
      mark(`event ${ev.type}${item}`)
      yield ev
    }
  }
}

/** The marks of one run: `work` timed from now, with `end` marked when it resolved. */
async function recorded(work: () => Promise<void>, end: string): Promise<[string, number][]> {
  marks = []
  stderrLines = []
  t0 = performance.now()
  await work()
  mark(end)
  const got = marks
  marks = null
  return got
}

const gatewayRun = (server: RunningServer, agent: string) =>
  recorded(() => gatewayRunAnswers(server, agent, prompt, answer), 'http answered')

/** A warm codex run through seed 000's POST /chat (it follows the run's events instead of waiting for its record). */
const chatRun = (server: RunningServer) =>
  recorded(() => gatewayChatAnswers(server, prompt, answer), 'http answered')

const directExec = (server: RunningServer, cwd: string) =>
  recorded(() => directCodexExec(server, cwd, prompt, answer, () => mark('exec first stdout')), 'exec closed')

/** Labels numbered by occurrence (`mock /v1/responses #2`), so repeated steps line up across runs. */
function numbered(run: [string, number][]): [string, number][] {
  const seen = new Map<string, number>()
  return run.map(([label, ms]) => {
    const n = (seen.get(label) ?? 0) + 1
    seen.set(label, n)
    return [n > 1 ? `${label} #${n}` : label, ms]
  })
}

/** Median time of each step over the runs, in the order of the run that has the most steps. */
function timeline(runs: [string, number][][]): string {
  const all = runs.map(numbered)
  const order = [...all].sort((a, b) => b.length - a.length)[0] ?? []
  const rows = [['step', 'runs', 'median ms', 'gap ms']]
  let prev = 0
  const steps = order
    .map(([label]) => {
      const times = all.flatMap((r) => r.filter(([l]) => l === label).map(([, ms]) => ms))
      return { label, n: times.length, med: median(times) }
    })
    .sort((a, b) => a.med - b.med)
  for (const s of steps) {
    rows.push([s.label, `${s.n}`, s.med.toFixed(1), (s.med - prev).toFixed(1)])
    prev = s.med
  }
  return markdownTable(rows, [false, true, true, true])
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'agw-bench-acp-timeline-'))
process.env.AGW_TEST_TMP = tmp
const mock = await startMockLlm({ log: (line) => mark(`mock ${line.split(' ')[1]?.split('?')[0]}`) })
mock.setDefault({ kind: 'text', text: answer })
let server: RunningServer | undefined
let failed = false
try {
  const { env, dir, workspace } = gatewayEnv(mock, {})
  server = await startServer({ env, cwd: dir, logger: false })
  tapStore(server.ctx.store)
  tapDriver(server.ctx.registry.get('acp:codex-acp'))
  tapDriver(server.ctx.registry.get('codex'))
  const gw = server
  printMachine()
  let acpStderr: [number, string][] = []
  const modes = (
    [
      [
        'acp',
        async () => {
          const got = await gatewayRun(gw, 'acp:codex-acp')
          acpStderr = stderrLines
          return got
        },
      ],
      ['codex', () => gatewayRun(gw, 'codex')],
      ['chat', () => chatRun(gw)],
      ['exec', () => directExec(gw, workspace)],
    ] as const
  ).filter(([name]) => only.has(name))
  const runs: Record<string, [string, number][][]> = { acp: [], codex: [], chat: [], exec: [] }
  for (let i = 0; i < warmup + iterations; i++) {
    const order = i % 2 === 0 ? modes : [...modes].reverse()
    for (const [name, fn] of order) {
      const got = await fn()
      if (i >= warmup) runs[name]!.push(got)
    }
  }
  console.log(loadLine('at the end'))
  for (const [name, title] of [
    ['acp', 'warm acp:codex-acp, POST /v1/runs?wait=true'],
    ['codex', 'warm codex (app-server thread), POST /v1/runs?wait=true'],
    ['chat', 'warm codex (app-server thread), POST /chat'],
    ['exec', 'cold direct codex exec'],
  ] as const) {
    if (!only.has(name)) continue
    console.log(`\n### ${title} (${runs[name]!.length} runs)\n`)
    console.log(timeline(runs[name]!))
  }
  const ran = ['acp', 'codex', 'chat', 'exec'].filter((name) => only.has(name))
  const total = (name: string) => median(runs[name]!.map((r) => r[r.length - 1]![1]))
  const walls = ran.map((name) => `${name} ${total(name).toFixed(1)} ms`).join(', ')
  const ratios = only.has('exec')
    ? `; ${ran
        .filter((name) => name !== 'exec')
        .map((name) => `${name}/exec ${(total(name) / total('exec')).toFixed(3)}`)
        .join(', ')}`
    : ''
  // the gateway side carries this bench's taps (every stdio line parsed, store calls wrapped); the direct exec
  // does not: bench/acp-warm-runs.ts and run-vs-direct.ts give the untapped ratios
  console.log(`\nmedian wall (gateway instrumented): ${walls}${ratios}`)
  if (rustLog) {
    console.log('\n### agent stderr of the last acp run (ms after the request)\n')
    // without the ANSI colour codes of the agent's log
    const colour = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')
    for (const [ms, line] of acpStderr)
      console.log(`${ms.toFixed(1).padStart(8)}  ${line.replace(colour, '').slice(0, 3000)}`)
  }
} catch (err) {
  failed = true
  console.error(err)
} finally {
  await server?.close()
  await mock.close()
  rmSync(tmp, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
