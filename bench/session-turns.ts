/**
 * Warm session turns vs cold runs, the gateway's cost per turn, and memory per idle session
 * (`npx tsx bench/session-turns.ts`).
 *
 * Starts the mock model server (text answer, no delay; on a thread of its own unless `--mock inline`, as a real
 * model provider is not in the gateway's process: bench/mock-thread.ts) and a gateway in this process, configured exactly like
 * the integration tests (`gatewayEnv(mock)`: empty HOME, throwaway CODEX_HOME, the mock as provider), creates
 * ONE session (POST /v1/sessions {}) and, next to the gateway, a direct client of its own `codex app-server`
 * (AppServerProcess with the gateway's config and env, one thread started with the same params as the
 * gateway's). Then, interleaved per iteration:
 *   turn    POST /v1/sessions/:id/turns?wait=true {input} on the one session (a warm turn)
 *   direct  turn/start on the direct client's thread, until its turn/completed notification
 *   exec    POST /v1/runs?wait=true {prompt}: one cold `codex exec` per run
 * Reports
 *   1. warm turn vs cold exec: medians, p90, ratio turn/exec;
 *   2. the gateway's added ms per turn (turn - direct, paired per iteration; target <= 2 ms), then a profile
 *      from extra instrumented turns: a timeline (before turn/start, in the app-server, after turn/completed),
 *      the SQLite calls and the event mapping per turn, and the HTTP floor;
 *   3. memory per idle session: K sessions created with no turn; this process's heapUsed (after gc) and RSS,
 *      the VmRSS of the gateway's app-server (the child of this process whose cmdline has `app-server`) and
 *      the threads it holds (thread/loaded/list); then the same after thread/unsubscribe of those K threads.
 * Every thread's history grows by one exchange per turn, in both `turn` and `direct` (same number of turns).
 * docs/benchmarks.md explains the output.
 *
 * With `--baseline <dir>` (another checkout with node_modules, e.g. `git archive <commit> | tar -x -C <dir>` and
 * `cp -al node_modules <dir>/`), a second gateway from that checkout runs in this process next to this one, with
 * its own session on its own app-server: a fourth mode `base` (the same turn through it) is interleaved with the
 * others, and the report adds the baseline's added ms and this checkout's difference to it, paired per iteration.
 * `--no-exec` leaves out the cold `exec` runs (they take longest and do not go through the turn path).
 *
 * `--stream` adds a mode `stream` (and `bstream` on the --baseline gateway): the same warm turn through seed 004's
 * `POST /agent/stream`, on ONE long-lived h2c stream per gateway held for the whole run (bench/stream-turn-client.ts),
 * as the direct client holds one stdio pipe: a `user_message` frame, done when the "Agent run completed." frame is
 * decoded (the gateway sends it after the turn's end was stored; the assistant message's `item` frame came before
 * it, as the direct client's agentMessage comes before turn/completed). `--framing` length-prefixed (default: no
 * scan for the frame's end) or ndjson; `ws`: the same frames over one WebSocket (GET /agent/ws) instead. Every session (and the direct client's thread) then gets the settings a
 * stream's session has (`workspace-write`, `untrusted`), so that all threads send the model the same request.
 *
 * `--gateway-process` adds a mode `proc`: the same warm turn through this checkout's gateway in a process of its
 * own (bench/gateway-process.ts, dist/ with --built), as `npm start` runs it and as a client meets it, configured
 * like the one in this process and against the same mock. The other gateway modes share this process's event loop
 * (and heap) with their HTTP client; `proc` - `turn` shows what that sharing costs. `--gateway-node-args` (implies
 * --gateway-process) gives that process node flags, e.g. `--gateway-node-args='--cpu-prof --cpu-prof-dir=/tmp/p'`.
 *
 * `--built` loads the gateway's modules (this checkout's, and the --baseline checkout's) from their built dist/
 * (`npm run build` in each first; a missing file is an error naming it), what `npm start` runs, instead of src/
 * through tsx (bench/gateway-modules.ts): tsx's esbuild keepNames adds a `__name` call to every function and class
 * made at run time, about 0.65 ms of CPU per warm turn (docs/benchmarks.md, "Issue 14, session 15"). The direct
 * client's AppServerProcess and the classes the profile instruments (CodexDriver's app-server process, the store,
 * TurnEventMapper) come from the same code as the gateway they belong to. This checkout's test support
 * (test/support/gateway.ts) still imports src/, so src/ is loaded too, but only dist/ runs the turns.
 *
 * `--windows N` adds, after the measurement, N `turn` turns in a row and then N `direct` turns in a row, and prints
 * the CPU per turn of each window (no other mode in between: a window's CPU is its mode's own); with `--cpu-prof
 * <prefix>` each window is also profiled (V8 sampling, this thread) into <prefix>-turn/-direct.cpuprofile.
 * `--direct-busy-us N` makes the direct client spend N µs of CPU on each notification of its turn, on its own
 * thread (`--direct-busy-on main`, default) or on a spinning thread of its own (`thread`: the cores are taken,
 * its reads are not delayed): a diagnostic of how much the gateway's CPU per turn weighs on codex's turn.
 *
 * Usage: npx tsx bench/session-turns.ts [--iterations N] [--warmup N] [--order permute|fixed] [--profile N]
 *          [--sessions K] [--direct-home shared|own] [--baseline <dir>] [--no-exec] [--mock thread|inline]
 *          [--windows N] [--cpu-prof <prefix>] [--direct-busy-us N] [--direct-busy-on main|thread]
 *          [--client http|fetch] [--env NAME=value ...] [--built] [--stream] [--framing length-prefixed|ndjson|ws]
 *          [--gateway-process] [--gateway-node-args '--cpu-prof ...']
 *   --iterations (or BENCH_ITERATIONS) measured iterations, default 30; --warmup rounds, default 3;
 *   --order permute (default) cycles through the 6 orders of the three modes, so each mode follows each other
 *     equally often (rotating one order would keep its cycle: `turn` would always come right after `exec`);
 *     fixed runs turn, direct, exec every iteration;
 *   --profile instrumented rounds after the measurement, default 20 (0: none); --sessions K, default 50 (0: no memory phase);
 *   --direct-home shared (default): the direct app-server uses the gateway's CODEX_HOME, like its config and
 *     env; own: a CODEX_HOME of its own with the same config.toml (then only the gateway's home gets the exec
 *     runs' rollouts and state).
 * `--env NAME=value` (repeatable) sets a setting for this checkout's gateway only (`--env MODEL_KEY_PROXY=false`: the
 * key proxy off, as a control against a baseline that has it on).
 * `--client` is the HTTP client of the gateway's modes, in this process: `http` (default) node:http with a keep-alive
 * agent, as a Node backend calling the gateway would; `fetch` the global fetch (undici), about 1 ms more per request
 * of its own (bench/json-client.ts), which results before 2026-12-02 used.
 * For exact heap numbers run it as `node --expose-gc --import tsx bench/session-turns.ts`; without the flag it
 * enables gc through v8.setFlagsFromString. Not a test: exits 0 when every turn and run gave the expected answer
 * and nothing was left running, 1 otherwise (or on Ctrl-C, after cleaning up).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import inspector from 'node:inspector/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import type { CodexDriver } from '../src/agents/codex/driver.js'
import type { AppServerHost } from '../src/agents/codex-app-server/app-server-host.js'
import type { AppServerProcess } from '../src/agents/codex-app-server/app-server-process.js'
import type { TurnEventMapper } from '../src/agents/codex-app-server/turn-mapper.js'
import type { RunningServer, startServer } from '../src/http/server.js'
import { makeCodexHome } from '../test/support/codex-home.js'
import { gatewayEnv, testModel } from '../test/support/gateway.js'
import { listProcesses } from '../test/support/processes.js'
import { benchScope, runBench } from './bench-scope.js'
import { codeRan, gatewayLoader, gatewayModules } from './gateway-modules.js'
import { GatewayProcess } from './gateway-process-client.js'
import { findGc } from './gc.js'
import { type ClientKind, clientKinds, type JsonClient, jsonClient } from './json-client.js'
import { loadLine, machineLines } from './machine.js'
import { type BenchMock, type MockPlacement, startBenchMock } from './mock-thread.js'
import { BenchError, benchArgs, envOption, intOption } from './options.js'
import { markdownTable, median, medianCi, percentile, summarize } from './stats.js'
import { type StreamFraming, StreamTurnClient, streamFramings } from './stream-turn-client.js'
import { threadCpu, threadCpuSince } from './thread-cpu.js'

const answer = 'ok'
const prompt = 'Say ok.'
const opTimeoutMs = 60_000
/** The issue's target for the gateway's cost per warm turn. */
/** Issue 14 target 4: a warm turn through the gateway adds at most this over driving app-server directly. */
const targetAddedMs = 2
/** Sessions created (and not counted) before the memory baseline, so first-use allocations are not counted. */
const warmSessions = 5

type Mode = 'turn' | 'proc' | 'stream' | 'base' | 'bstream' | 'direct' | 'exec'
const allModes: Mode[] = ['turn', 'proc', 'stream', 'base', 'bstream', 'direct', 'exec']
type Order = 'permute' | 'fixed'
/** The 6 orders of the three default modes; `permute` cycles through them. */
const defaultPermutations: Mode[][] = [
  ['turn', 'direct', 'exec'],
  ['direct', 'exec', 'turn'],
  ['exec', 'turn', 'direct'],
  ['turn', 'exec', 'direct'],
  ['exec', 'direct', 'turn'],
  ['direct', 'turn', 'exec'],
]

/** Every order of `items` (4 modes: 24), so that each follows each other equally often over a full cycle. */
function permutationsOf<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((first, i) =>
    permutationsOf([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [first, ...rest]),
  )
}

interface Options {
  /** Another checkout whose gateway runs the `base` mode. */
  baseline: string | undefined
  exec: boolean
  iterations: number
  warmup: number
  order: Order
  profile: number
  sessions: number
  directHome: 'shared' | 'own'
  mock: MockPlacement
  /** Rounds of the `turn`-only and `direct`-only windows after the measurement (--windows N; 0: none). */
  windows: number
  /** Where to write the CPU profiles of those windows (--cpu-prof <prefix>). */
  cpuProf: string | undefined
  /** CPU the direct client spends per notification of its turn, µs (a diagnostic: does the gateway's weigh?). */
  directBusyUs: number
  /** Where that CPU is spent: this thread (main) or a thread of its own (thread: contention for the cores only). */
  directBusyOn: 'main' | 'thread'
  /** The HTTP client of the gateway's modes (--client). */
  client: ClientKind
  /** Settings for this checkout's gateway only (--env NAME=value): MODEL_KEY_PROXY=false as a control. */
  env: Record<string, string>
  /** The gateways (and the direct client) from their built dist/ instead of src/ through tsx (--built). */
  built: boolean
  /** Adds the modes over one long-lived /agent/stream h2c stream (`stream`, and `bstream` with --baseline). */
  stream: boolean
  /** Their framing (--framing; default length-prefixed). */
  framing: StreamFraming
  /** Adds the mode `proc`: the same warm turn through this checkout's gateway in a process of its own. */
  gatewayProcess: boolean
  /** Node flags for that process (--gateway-node-args, space-separated: e.g. a CPU profile of it alone). */
  gatewayNodeArgs: string[]
}

function parseOptions(): Options {
  const { values } = benchArgs({
    options: {
      iterations: { type: 'string', short: 'n' },
      warmup: { type: 'string' },
      order: { type: 'string' },
      profile: { type: 'string' },
      sessions: { type: 'string' },
      'direct-home': { type: 'string' },
      baseline: { type: 'string' },
      'no-exec': { type: 'boolean' },
      mock: { type: 'string' },
      'cpu-prof': { type: 'string' },
      windows: { type: 'string' },
      'direct-busy-us': { type: 'string' },
      'direct-busy-on': { type: 'string' },
      client: { type: 'string' },
      env: { type: 'string', multiple: true },
      built: { type: 'boolean', default: false },
      stream: { type: 'boolean', default: false },
      framing: { type: 'string' },
      'gateway-process': { type: 'boolean', default: false },
      'gateway-node-args': { type: 'string' },
    },
    strict: true,
  })
  const order = values.order ?? 'permute'
  if (order !== 'fixed' && order !== 'permute')
    throw new BenchError(`order must be permute or fixed, got "${order}"`)
  const directHome = values['direct-home'] ?? 'shared'
  if (directHome !== 'shared' && directHome !== 'own')
    throw new BenchError(`direct-home must be shared or own, got "${directHome}"`)
  const mock = values.mock ?? 'thread'
  if (mock !== 'thread' && mock !== 'inline')
    throw new BenchError(`mock must be thread or inline, got "${mock}"`)
  const count = intOption
  const directBusyOn = values['direct-busy-on'] ?? 'main'
  if (directBusyOn !== 'main' && directBusyOn !== 'thread')
    throw new BenchError(`direct-busy-on must be main or thread, got "${directBusyOn}"`)
  const client = (values.client ?? 'http') as ClientKind
  if (!clientKinds.includes(client))
    throw new BenchError(`client must be ${clientKinds.join(' or ')}, got "${values.client}"`)
  const framing = (values.framing ?? 'length-prefixed') as StreamFraming
  if (!streamFramings.includes(framing))
    throw new BenchError(`framing must be ${streamFramings.join(' or ')}, got "${values.framing}"`)
  const baseline = values.baseline ? path.resolve(values.baseline) : undefined
  if (baseline && !existsSync(path.join(baseline, 'src/http/server.ts')))
    throw new BenchError(`${baseline} is not a checkout of agent-gateway (no src/http/server.ts)`)
  if (baseline && !existsSync(path.join(baseline, 'node_modules')))
    throw new BenchError(`${baseline} has no node_modules (cp -al node_modules ${baseline}/)`)
  return {
    baseline,
    exec: !values['no-exec'],
    iterations: count(values.iterations ?? process.env.BENCH_ITERATIONS, 30, 'iterations', 1),
    warmup: count(values.warmup, 3, 'warmup', 0),
    order,
    profile: count(values.profile, 20, 'profile', 0),
    sessions: count(values.sessions, 50, 'sessions', 0),
    directHome,
    mock,
    cpuProf: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
    windows: count(values.windows, values['cpu-prof'] ? 40 : 0, 'windows', 0),
    directBusyUs: count(values['direct-busy-us'], 0, 'direct-busy-us', 0),
    directBusyOn,
    client,
    env: envOption(values.env),
    built: values.built === true,
    stream: values.stream === true,
    framing,
    gatewayProcess: values['gateway-process'] === true || values['gateway-node-args'] !== undefined,
    gatewayNodeArgs: values['gateway-node-args']?.split(' ').filter(Boolean) ?? [],
  }
}

interface Bench {
  mock: BenchMock
  /** The HTTP client of the `turn`, `base` and `exec` modes (--client). */
  client: JsonClient
  server: RunningServer
  /** The gateway's TurnEventMapper class (from the code it runs: dist/ or src/), instrumented by the profile. */
  mapper: Profiled['mapper']
  /** The baseline checkout's gateway and its one session, with --baseline. */
  base?: { server: RunningServer; sessionId: string; mapper: Profiled['mapper']; stream?: StreamTurnClient }
  /** With --gateway-process: this checkout's gateway in a process of its own, and its one session. */
  proc?: { gateway: GatewayProcess; sessionId: string }
  /** With --stream: this gateway's /agent/stream client, on a session of its own. */
  stream?: StreamTurnClient
  codex: CodexDriver
  /** The one session every `turn` goes to. */
  sessionId: string
  direct: DirectClient
  /** The direct client's thread. */
  threadId: string
}

interface Sample {
  totalMs: number
  /** Model requests the mock recorded during this turn or run. */
  modelRequests: number
  /** The model of the first of them. */
  model: string | null
  /** Size of the first request's JSON body (the history grows with every turn). */
  bodyBytes: number | null
  /** The mode that ran just before this one (null for the first). */
  after?: Mode | null
  /**
   * CPU this process used meanwhile (user + system): the gateway(s), the HTTP or JSON-RPC client and the mock,
   * not the app-servers. Robust to other processes' load, unlike the wall times.
   */
  cpuMs?: number
}

// ---------------------------------------------------------------- the direct app-server client

interface DirectTurn {
  /** From just before turn/start was written until the turn/completed notification arrived. */
  totalMs: number
  turnId: string | undefined
  completedTurnId: string | undefined
  status: string | undefined
  texts: string[]
}

/**
 * A minimal client of `codex app-server` for one thread: turn/start, then wait for turn/completed. It does as
 * little as it can per notification (two property reads), so it is the floor the gateway is compared with;
 * the answer is checked after the clock stopped.
 */
class DirectClient {
  private waiting:
    | {
        threadId: string
        texts: string[]
        resolve: (done: { at: number; turnId?: string; status?: string }) => void
      }
    | undefined

  constructor(
    readonly proc: AppServerProcess,
    /**
     * CPU (µs) spent on each notification of its turn (--direct-busy-us; 0: none): on this thread, or, with
     * `spinner`, on a thread of its own (the cores are taken, this thread is not).
     */
    private readonly busyUs = 0,
    private readonly spinner?: Spinner,
  ) {
    proc.onNotification((method, params) => {
      if (this.busyUs > 0 && this.waiting) {
        if (this.spinner) this.spinner.spin(this.busyUs)
        else busy(this.busyUs)
      }
      this.notified(method, params)
    })
  }

  async turn(threadId: string, text: string): Promise<DirectTurn> {
    if (this.waiting) throw new BenchError('direct: a turn is already running')
    const texts: string[] = []
    const completed = new Promise<{ at: number; turnId?: string; status?: string }>((resolve) => {
      this.waiting = { threadId, texts, resolve }
    })
    const t0 = performance.now()
    const started = (await this.proc.request('turn/start', {
      threadId,
      input: [{ type: 'text', text, text_elements: [] }],
    })) as { turn?: { id?: string } } | null
    const done = await withTimeout(completed, 'direct: no turn/completed')
    return {
      totalMs: done.at - t0,
      turnId: started?.turn?.id,
      completedTurnId: done.turnId,
      status: done.status,
      texts,
    }
  }

  private notified(method: string, params: unknown): void {
    const w = this.waiting
    if (!w) return
    const p = params as {
      threadId?: string
      turn?: { id?: string; status?: string }
      item?: { type?: string; text?: string }
    } | null
    if (p?.threadId !== w.threadId) return
    if (method === 'item/completed' && p.item?.type === 'agentMessage' && typeof p.item.text === 'string')
      w.texts.push(p.item.text)
    else if (method === 'turn/completed') {
      this.waiting = undefined
      w.resolve({ at: performance.now(), turnId: p.turn?.id, status: p.turn?.status })
    }
  }
}

/** A thread that spins for the microseconds it is handed (`spin` returns at once). */
class Spinner {
  private readonly shared = new Int32Array(new SharedArrayBuffer(8))
  private readonly worker: Worker

  constructor() {
    this.worker = new Worker(
      `const { workerData } = require('node:worker_threads')
       const a = workerData
       for (;;) {
         Atomics.wait(a, 0, 0)
         const us = Atomics.exchange(a, 0, 0)
         if (us < 0) break
         const until = performance.now() + us / 1000
         while (performance.now() < until) {}
       }`,
      { eval: true, workerData: this.shared },
    )
    this.worker.unref()
  }

  spin(us: number): void {
    Atomics.add(this.shared, 0, us)
    Atomics.notify(this.shared, 0)
  }

  async close(): Promise<void> {
    Atomics.store(this.shared, 0, -1)
    Atomics.notify(this.shared, 0)
    await this.worker.terminate()
  }
}

/** Spins this thread for `us` microseconds (a stand-in for work a client does per notification). */
function busy(us: number): void {
  const until = performance.now() + us / 1000
  while (performance.now() < until) {
    // spin
  }
}

async function withTimeout<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchError(`${message} within ${opTimeoutMs} ms`)), opTimeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

// ---------------------------------------------------------------- the three modes

const json = { 'content-type': 'application/json' }
const turnBody = JSON.stringify({ input: prompt })
const runBody = JSON.stringify({ prompt })

const runTurn = (b: Bench): Promise<Sample> => turnThrough(b, b.server.url, b.sessionId)

function runBase(b: Bench): Promise<Sample> {
  if (!b.base) throw new BenchError('base: no --baseline given')
  return turnThrough(b, b.base.server.url, b.base.sessionId)
}

/** One warm turn through a gateway: POST /v1/sessions/:id/turns?wait=true until the finished turn is parsed. */
async function turnThrough(b: Bench, url: string, sessionId: string): Promise<Sample> {
  const before = b.mock.count
  const t0 = performance.now()
  const res = await b.client.post(`${url}/v1/sessions/${sessionId}/turns?wait=true`, turnBody, opTimeoutMs)
  const turn = res.body as { status?: string; finalResponse?: string | null }
  const totalMs = performance.now() - t0
  if (res.status !== 200 || turn.status !== 'completed' || turn.finalResponse !== answer)
    throw new BenchError(`turn: HTTP ${res.status} without the expected answer: ${JSON.stringify(turn)}`)
  return { totalMs, ...modelRequests(b.mock, before) }
}

async function runDirect(b: Bench): Promise<Sample> {
  const before = b.mock.count
  const t = await b.direct.turn(b.threadId, prompt)
  if (!t.turnId || t.completedTurnId !== t.turnId || t.status !== 'completed' || !t.texts.includes(answer))
    throw new BenchError(`direct: the turn ended without the expected answer: ${JSON.stringify(t)}`)
  return { totalMs: t.totalMs, ...modelRequests(b.mock, before) }
}

async function runExec(b: Bench): Promise<Sample> {
  const before = b.mock.count
  const t0 = performance.now()
  const res = await b.client.post(`${b.server.url}/v1/runs?wait=true`, runBody, opTimeoutMs)
  const run = res.body as { status?: string; finalResponse?: string | null }
  const totalMs = performance.now() - t0
  if (res.status !== 200 || run.status !== 'succeeded' || run.finalResponse !== answer)
    throw new BenchError(`exec: HTTP ${res.status} without the expected answer: ${JSON.stringify(run)}`)
  return { totalMs, ...modelRequests(b.mock, before) }
}

/** One warm turn on a gateway's long-lived /agent/stream stream, until "Agent run completed." is decoded. */
async function streamTurn(b: Bench, client: StreamTurnClient | undefined): Promise<Sample> {
  if (!client) throw new BenchError('stream: no stream client (--stream)')
  const before = b.mock.count
  const t = await client.turn(prompt, opTimeoutMs)
  if (!t.texts.includes(answer) || t.frames.some((f) => f.startsWith('error')))
    throw new BenchError(`stream: the turn ended without the expected answer: ${JSON.stringify(t)}`)
  return { totalMs: t.totalMs, ...modelRequests(b.mock, before) }
}

/** The warm turn through the gateway in a process of its own (--gateway-process). */
function runProc(b: Bench): Promise<Sample> {
  if (!b.proc) throw new BenchError('proc: no --gateway-process given')
  return turnThrough(b, b.proc.gateway.url, b.proc.sessionId)
}

const runners: Record<Mode, (b: Bench) => Promise<Sample>> = {
  turn: runTurn,
  proc: runProc,
  stream: (b) => streamTurn(b, b.stream),
  base: runBase,
  bstream: (b) => streamTurn(b, b.base?.stream),
  direct: runDirect,
  exec: runExec,
}

function modelRequests(mock: BenchMock, before: number): Omit<Sample, 'totalMs'> {
  const made = mock.since(before).filter((r) => r.path.endsWith('/responses'))
  return {
    modelRequests: made.length,
    model: made[0]?.model ?? null,
    bodyBytes: made[0]?.bodyBytes ?? null,
  }
}

// ---------------------------------------------------------------- profile of the gateway's turn

type Phase = 'pre' | 'during' | 'post'

interface TurnProfile {
  totalMs: number
  /** Client fetch -> the gateway writes turn/start. */
  preMs: number
  /** turn/start written -> turn/completed reached the gateway's AppServerProcess. */
  agentMs: number
  /** turn/completed reached the gateway -> the client has parsed the finished turn. */
  postMs: number
  sqliteMs: Record<Phase, number>
  sqliteCalls: Map<string, number>
  mapMs: number
  mapCalls: number
}

interface Profile {
  turns: TurnProfile[]
  /** The baseline gateway's turns, profiled the same way (with --baseline). */
  baseTurns: TurnProfile[]
  direct: number[]
  /** POST /v1/sessions/:id/turns with an empty body: HTTP, routing and zod, answered 400, nothing else. */
  floor: number[]
  baseFloor: number[]
}

/** A gateway to profile: where its session is, and the parts instrumented (its own modules' classes). */
interface Profiled {
  url: string
  sessionId: string
  codex: CodexDriver
  store: unknown
  mapper: { prototype: TurnEventMapper }
}

const newTurnProfile = (): TurnProfile => ({
  totalMs: 0,
  preMs: 0,
  agentMs: 0,
  postMs: 0,
  sqliteMs: { pre: 0, during: 0, post: 0 },
  sqliteCalls: new Map(),
  mapMs: 0,
  mapCalls: 0,
})

/**
 * Instruments one gateway from here, at run time, not in src/: its AppServerProcess (a private field of
 * CodexDriver) gets a wrapped `send` and one more notification listener for the timeline, every method of its
 * SqliteStore is timed (synchronous better-sqlite3 calls behind an async signature; the outermost call only, not its
 * private parts inside it), and so is its
 * TurnEventMapper.prototype.map. Returns a timed turn, and the function that restores everything.
 */
async function instrument(
  b: Bench,
  g: Profiled,
): Promise<{ turn: () => Promise<TurnProfile>; restore: () => void }> {
  const proc = (g.codex as unknown as { host?: AppServerHost }).host?.process
  // private parts of the gateway's code (src/ or dist/): say so when a refactoring moved them
  if (typeof proc?.send !== 'function' || typeof proc.onNotification !== 'function')
    throw new BenchError(
      "profile: the codex driver's host.process (an AppServerProcess with send) is not there",
    )
  let current: { t0: number; sent?: number; completed?: number; p: TurnProfile } | undefined
  const phase = (): Phase | null => {
    if (!current) return null
    if (current.sent === undefined) return 'pre'
    return current.completed === undefined ? 'during' : 'post'
  }
  const restore: (() => void)[] = []
  const send = proc.send.bind(proc)
  ;(proc as unknown as { send: (...args: unknown[]) => unknown }).send = (...args: unknown[]) => {
    if (args[0] === 'turn/start' && current) current.sent ??= performance.now()
    return (send as (...a: unknown[]) => unknown)(...args)
  }
  restore.push(() => delete (proc as unknown as { send?: unknown }).send)
  const gatewayThread = (await gatewaySession(g.url, g.sessionId)).agentSessionId
  restore.push(
    proc.onNotification((method, params) => {
      if (
        method === 'turn/completed' &&
        current &&
        (params as { threadId?: string })?.threadId === gatewayThread
      )
        current.completed ??= performance.now()
    }),
  )
  const store = g.store as Record<string, (...args: unknown[]) => unknown>
  const names = Object.getOwnPropertyNames(Object.getPrototypeOf(store)).filter(
    (n) => n !== 'constructor' && typeof store[n] === 'function',
  )
  if (names.length === 0) throw new BenchError("profile: the store's class has no methods to time")
  // Methods call each other (a transaction's own parts are private methods, wrapped too): only the outermost
  // call counts, its time and its name (the gateway's Store calls, not their parts).
  let depth = 0
  for (const name of names) {
    const original = store[name]!
    store[name] = function (this: unknown, ...args: unknown[]) {
      const at = phase()
      const t0 = performance.now()
      depth++
      try {
        return original.apply(this, args)
      } finally {
        depth--
        if (at && current && depth === 0) {
          current.p.sqliteMs[at] += performance.now() - t0
          current.p.sqliteCalls.set(name, (current.p.sqliteCalls.get(name) ?? 0) + 1)
        }
      }
    }
    restore.push(() => delete store[name])
  }
  const proto = g.mapper.prototype
  const map = Object.getOwnPropertyDescriptor(proto, 'map')
  if (typeof map?.value !== 'function')
    throw new BenchError('profile: TurnEventMapper.prototype.map is not there')
  const originalMap = proto.map
  proto.map = function (this: TurnEventMapper, method: string, params: unknown) {
    const t0 = performance.now()
    try {
      return originalMap.call(this, method, params)
    } finally {
      if (current) {
        current.p.mapMs += performance.now() - t0
        current.p.mapCalls += 1
      }
    }
  }
  restore.push(() => Object.defineProperty(proto, 'map', map))
  const turn = async (): Promise<TurnProfile> => {
    const p = newTurnProfile()
    current = { t0: performance.now(), p }
    try {
      await turnThrough(b, g.url, g.sessionId)
    } finally {
      const end = performance.now()
      const { t0, sent, completed } = current
      current = undefined
      if (sent === undefined || completed === undefined)
        // biome-ignore lint/correctness/noUnsafeFinally: a turn not seen on its app-server is the error to report
        throw new BenchError('profile: the gateway turn was not seen on its app-server')
      p.totalMs = end - t0
      p.preMs = sent - t0
      p.agentMs = completed - sent
      p.postMs = end - completed
    }
    return p
  }
  return {
    turn,
    restore: () => {
      current = undefined
      for (const undo of restore.reverse()) undo()
    },
  }
}

/** 50 times POST /v1/sessions/:id/turns {}: refused by zod with 400 (HTTP, routing, hooks, validation). */
async function httpFloor(client: JsonClient, url: string, sessionId: string): Promise<number[]> {
  const floor: number[] = []
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now()
    const res = await client.post(`${url}/v1/sessions/${sessionId}/turns`, '{}', opTimeoutMs)
    floor.push(performance.now() - t0)
    if (res.status !== 400) throw new BenchError(`POST .../turns {} answered ${res.status}, not 400`)
  }
  return floor
}

/**
 * Extra rounds of `turn` and `direct` (and, with --baseline, the baseline's turn), cycling through their
 * orders, each gateway instrumented (`instrument`). Everything is restored afterwards.
 */
async function profile(b: Bench, rounds: number, base: Profiled | undefined): Promise<Profile> {
  const own = await instrument(b, {
    url: b.server.url,
    sessionId: b.sessionId,
    codex: b.codex,
    store: b.server.ctx.store,
    mapper: b.mapper,
  })
  const other = base ? await instrument(b, base) : undefined
  const result: Profile = { turns: [], baseTurns: [], direct: [], floor: [], baseFloor: [] }
  try {
    const steps: Record<string, () => Promise<unknown>> = {
      turn: async () => result.turns.push(await own.turn()),
      direct: async () => result.direct.push((await runDirect(b)).totalMs),
      ...(other ? { base: async () => result.baseTurns.push(await other.turn()) } : {}),
    }
    const orders = permutationsOf(Object.keys(steps))
    for (let i = 0; i < rounds; i++) for (const step of orders[i % orders.length]!) await steps[step]!()
  } finally {
    own.restore()
    other?.restore()
  }
  result.floor = await httpFloor(b.client, b.server.url, b.sessionId)
  if (base) result.baseFloor = await httpFloor(b.client, base.url, base.sessionId)
  return result
}

async function gatewaySession(
  url: string,
  sessionId: string,
): Promise<{ agentSessionId: string; lastSeq: number; turnCount: number }> {
  const res = await fetch(`${url}/v1/sessions/${sessionId}`, {
    signal: AbortSignal.timeout(opTimeoutMs),
  })
  return (await res.json()) as { agentSessionId: string; lastSeq: number; turnCount: number }
}

/**
 * --windows N: N rounds of `turn` only, then N of `direct` only (no other mode in between, so the CPU this process
 * used in a window is that mode's alone); prints the CPU per turn of each window (user and system). With
 * --cpu-prof <prefix>, each window runs under V8's sampling profiler (this thread: the gateway, the clients, not
 * the mock's thread), written to <prefix>-turn.cpuprofile and <prefix>-direct.cpuprofile.
 */
async function windows(b: Bench, rounds: number, prefix: string | undefined, stream: boolean): Promise<void> {
  const session = prefix ? new inspector.Session() : undefined
  session?.connect()
  try {
    await session?.post('Profiler.enable')
    await session?.post('Profiler.setSamplingInterval', { interval: 250 })
    const modes: Mode[] = stream ? ['turn', 'stream', 'direct'] : ['turn', 'direct']
    if (b.proc) modes.push('proc')
    for (const mode of modes) {
      ;(globalThis as { gc?: () => void }).gc?.()
      await session?.post('Profiler.start')
      const cpu0 = process.cpuUsage()
      const threads0 = threadCpu()
      if (mode === 'proc') await b.proc?.gateway.mark()
      const t0 = performance.now()
      for (let i = 0; i < rounds; i++) await runners[mode](b)
      const wall = performance.now() - t0
      const gatewayUsage = mode === 'proc' ? await b.proc?.gateway.usage() : undefined
      const cpu = process.cpuUsage(cpu0)
      const written = session ? `: ${prefix}-${mode}.cpuprofile` : ''
      if (session) {
        const { profile } = await session.post('Profiler.stop')
        writeFileSync(`${prefix}-${mode}.cpuprofile`, JSON.stringify(profile))
      }
      const per = (us: number) => (us / 1000 / rounds).toFixed(2)
      console.log(
        `window: ${rounds} ${mode} turns in a row, ${per(cpu.user + cpu.system)} ms CPU per turn (user ${per(cpu.user)}, system ${per(cpu.system)}), ${(wall / rounds).toFixed(1)} ms wall per turn${written}`,
      )
      // /proc's 10 ms ticks: a window of 100+ turns resolves 0.1 ms per turn
      console.log(`  by thread, ms CPU per turn: ${threadCpuSince(threads0, rounds)}`)
      if (gatewayUsage) {
        const byThread = Object.entries(gatewayUsage.threads ?? {})
          .sort((x, y) => y[1] - x[1])
          .map(([name, ms]) => `${name} ${(ms / rounds).toFixed(2)}`)
          .join(', ')
        console.log(
          `  the gateway process: ${(gatewayUsage.cpuMs / rounds).toFixed(2)} ms CPU per turn (by thread: ${byThread})`,
        )
      }
    }
  } finally {
    session?.disconnect()
  }
}

// ---------------------------------------------------------------- memory per idle session

/** VmRSS of a process in bytes (Linux /proc), or null when it is gone. */
function vmRss(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'))
    const kb = line ? Number(line.split(/\s+/)[1]) : Number.NaN
    return Number.isFinite(kb) ? kb * 1024 : null
  } catch {
    return null
  }
}

/** Children of this process running `codex app-server`. */
const appServerChildren = () =>
  listProcesses().filter((p) => p.ppid === process.pid && p.cmd.includes('app-server'))

function descendants(pid: number): number[] {
  const all = listProcesses()
  const found: number[] = []
  const walk = (parent: number) => {
    for (const p of all)
      if (p.ppid === parent) {
        found.push(p.pid)
        walk(p.pid)
      }
  }
  walk(pid)
  return found
}

interface Mem {
  heapUsed: number
  rss: number
  external: number
  appServerRss: number
  /** RSS of processes the app-server started (0 when it started none). */
  appServerChildrenRss: number
  /** Threads the app-server holds in memory (thread/loaded/list). */
  loadedThreads: number
}

async function measure(b: Bench, gc: (() => void) | null, appServerPid: number): Promise<Mem> {
  const loaded = (await b.codex.call('thread/loaded/list', {})) as { data?: unknown[]; nextCursor?: unknown }
  if (!Array.isArray(loaded.data) || loaded.nextCursor)
    throw new BenchError(`thread/loaded/list answered ${JSON.stringify(loaded).slice(0, 200)}`)
  for (let i = 0; i < 3; i++) {
    gc?.()
    await sleep(20)
  }
  const m = process.memoryUsage()
  const appServerRss = vmRss(appServerPid)
  if (appServerRss === null) throw new BenchError(`the app-server (pid ${appServerPid}) is gone`)
  const childrenRss = descendants(appServerPid)
    .map(vmRss)
    .reduce<number>((sum, r) => sum + (r ?? 0), 0)
  return {
    heapUsed: m.heapUsed,
    rss: m.rss,
    external: m.external,
    appServerRss,
    appServerChildrenRss: childrenRss,
    loadedThreads: loaded.data.length,
  }
}

/** The settings an /agent/stream session gets from its default approvalPolicy `suggest` (docs/agent-stream.md). */
const streamSessionFields = { sandbox: 'workspace-write', approvalPolicy: 'untrusted' } as const

/** A session with the gateway's defaults, or with `fields` (--stream: those of a stream's session). */
async function createSession(
  url: string,
  fields: Record<string, string> = {},
): Promise<{
  id: string
  agentSessionId: string
  cwd: string
  model: string | null
  sandbox: string | null
  approvalPolicy: string | null
}> {
  const res = await fetch(`${url}/v1/sessions`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify(fields),
    signal: AbortSignal.timeout(opTimeoutMs),
  })
  const body = (await res.json()) as {
    id: string
    agentSessionId: string
    cwd: string
    model: string | null
    sandbox: string | null
    approvalPolicy: string | null
    status: string
  }
  if (res.status !== 201 || body.status !== 'idle')
    throw new BenchError(`POST /v1/sessions: HTTP ${res.status}: ${JSON.stringify(body)}`)
  return body
}

interface MemoryResult {
  k: number
  how: string
  pid: number
  before: Mem
  after: Mem
  /** After thread/unsubscribe of the K threads (the gateway still holds its sessions). */
  unloaded: Mem
  unsubscribeAnswers: string[]
  createMs: number[]
}

async function idleSessions(b: Bench, k: number): Promise<MemoryResult> {
  const { gc, how } = findGc()
  const found = appServerChildren()
  const pid = found[0]?.pid
  if (found.length !== 1 || pid === undefined || pid !== b.codex.appServerPid)
    throw new BenchError(
      `expected one app-server child (the gateway's, pid ${b.codex.appServerPid}), found ${JSON.stringify(found)}`,
    )
  for (let i = 0; i < warmSessions; i++) await createSession(b.server.url)
  // the recorded model requests hold every history sent: drop them so gc has less to walk
  b.mock.clear()
  await sleep(500)
  const before = await measure(b, gc, pid)
  const createMs: number[] = []
  const threads: string[] = []
  for (let i = 0; i < k; i++) {
    const t0 = performance.now()
    threads.push((await createSession(b.server.url)).agentSessionId)
    createMs.push(performance.now() - t0)
  }
  await sleep(1000)
  const after = await measure(b, gc, pid)
  // What unloading idle threads would give back: the app-server lets go of them (the gateway's sessions stay;
  // a next turn would resume the thread).
  const answers = new Set<string>()
  for (const threadId of threads)
    answers.add(JSON.stringify(await b.codex.call('thread/unsubscribe', { threadId })))
  await sleep(1000)
  const unloaded = await measure(b, gc, pid)
  return { k, how, pid, before, after, unloaded, unsubscribeAnswers: [...answers], createMs }
}

// ---------------------------------------------------------------- report

const ms = (n: number | null | undefined) =>
  n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(1)
const ms2 = (n: number) => n.toFixed(2)
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)}`
const ci = (values: number[]) => {
  const c = medianCi(values)
  return c ? `${signed(c[0])} .. ${signed(c[1])}` : '-'
}

function reportTurns(samples: Record<Mode, Sample[]>, modes: readonly Mode[]): void {
  const total = (m: Mode) => samples[m].map((s) => s.totalMs)
  const rows = [['mode', 'what', 'median ms', 'p90 ms', 'min ms']]
  const what: Record<Mode, string> = {
    turn: 'POST /v1/sessions/:id/turns?wait=true (warm)',
    proc: 'the same through this checkout in a process of its own (--gateway-process)',
    stream: 'a user_message on one long-lived stream (--framing) -> "Agent run completed."',
    base: 'the same through the --baseline checkout',
    bstream: 'the stream turn through the --baseline checkout',
    direct: 'direct app-server turn/start -> turn/completed',
    exec: 'POST /v1/runs?wait=true (cold codex exec)',
  }
  for (const m of modes) {
    const s = summarize(total(m))
    rows.push([m, what[m], ms(s.median), ms(s.p90), ms(s.min)])
  }
  console.log(markdownTable(rows, [false, false, true, true, true]))

  const turn = total('turn')
  const exec = total('exec')
  const direct = total('direct')
  const ratios = turn.map((t, i) => t / exec[i]!)
  if (exec.length > 0)
    console.log(
      `\n1. warm turn vs cold exec: median(turn) / median(exec) = ${(median(turn) / median(exec)).toFixed(3)}` +
        ` (paired per iteration: median ${median(ratios).toFixed(3)}, p90 ${percentile(ratios, 90).toFixed(3)});` +
        ` a warm turn saves ${ms(median(exec) - median(turn))} ms`,
    )
  else console.log('\n1. warm turn vs cold exec: not measured (--no-exec)')
  const added = turn.map((t, i) => t - direct[i]!)
  const paired = median(added)
  console.log(
    `2. gateway added per turn: median(turn) - median(direct) = ${signed(median(turn) - median(direct))} ms;` +
      ` paired per iteration: median ${signed(paired)} ms (95% CI ${ci(added)}), p90 ${signed(percentile(added, 90))} ms;` +
      ` ratio ${(median(turn) / median(direct)).toFixed(3)}.` +
      ` Target <= ${targetAddedMs} ms: ${paired <= targetAddedMs ? 'met' : `MISSED by ${(paired - targetAddedMs).toFixed(1)} ms`}`,
  )
  if (modes.includes('base')) {
    const base = total('base')
    const baseAdded = base.map((t, i) => t - direct[i]!)
    const change = turn.map((t, i) => t - base[i]!)
    console.log(
      `   the baseline's added per turn: median(base) - median(direct) = ${signed(median(base) - median(direct))} ms;` +
        ` paired per iteration: median ${signed(median(baseAdded))} ms (95% CI ${ci(baseAdded)})`,
    )
    console.log(
      `   this checkout vs the baseline: median(turn) - median(base) = ${signed(median(turn) - median(base))} ms;` +
        ` paired per iteration: median ${signed(median(change))} ms (95% CI ${ci(change)})`,
    )
  }
  const addedBy = (m: Mode) => {
    const d = total(m).map((t, i) => t - direct[i]!)
    const p = median(d)
    return `median ${signed(p)} ms (95% CI ${ci(d)}), p90 ${signed(percentile(d, 90))} ms; target <= ${targetAddedMs} ms: ${p <= targetAddedMs ? 'met' : `MISSED by ${(p - targetAddedMs).toFixed(1)} ms`}`
  }
  const pairedBy = (a: Mode, c: Mode) => {
    const d = total(a).map((t, i) => t - total(c)[i]!)
    return `median ${signed(median(d))} ms (95% CI ${ci(d)})`
  }
  if (modes.includes('proc')) {
    console.log(
      `   the gateway in a process of its own, added per turn (proc - direct), paired: ${addedBy('proc')}`,
    )
    console.log(`   proc - turn (its own process against this one), paired: ${pairedBy('proc', 'turn')}`)
  }
  if (modes.includes('stream')) {
    console.log(`   over /agent/stream, added per turn (stream - direct), paired: ${addedBy('stream')}`)
    console.log(
      `   stream - turn (the persistent stream against HTTP), paired: ${pairedBy('stream', 'turn')}`,
    )
  }
  if (modes.includes('bstream')) {
    console.log(`   the baseline over /agent/stream (bstream - direct), paired: ${addedBy('bstream')}`)
    console.log(
      `   this checkout vs the baseline over /agent/stream (stream - bstream), paired: ${pairedBy('stream', 'bstream')}`,
    )
  }
  const cpu = (m: Mode) => samples[m].map((x) => x.cpuMs ?? Number.NaN)
  const cpuPaired = (a: Mode, c: Mode) => {
    const d = cpu(a).map((v, i) => v - cpu(c)[i]!)
    return `${signed(median(d))} ms (95% CI ${ci(d)})`
  }
  console.log(
    `\nCPU of this process per turn or run (the gateway(s), the clients and the mock; not the app-servers): medians ${modes.map((m) => `${m} ${ms2(median(cpu(m)))} ms`).join(', ')}` +
      `; paired turn - direct ${cpuPaired('turn', 'direct')}` +
      (modes.includes('base')
        ? `, turn - base ${cpuPaired('turn', 'base')}, base - direct ${cpuPaired('base', 'direct')}`
        : '') +
      (modes.includes('stream') ? `, stream - direct ${cpuPaired('stream', 'direct')}` : '') +
      (modes.includes('bstream') ? `, stream - bstream ${cpuPaired('stream', 'bstream')}` : ''),
  )
  const models = modes
    .map((m) => {
      const counts = [...new Set(samples[m].map((s) => s.modelRequests))].join('/')
      const names = [...new Set(samples[m].map((s) => s.model ?? '?'))].join('/')
      return `${m} ${counts} (${names})`
    })
    .join(', ')
  console.log(`\nmodel requests per turn or run: ${models}`)
  const bytes = (m: Mode) => {
    const b = samples[m].map((s) => s.bodyBytes)
    return `${b[0] ?? '-'} -> ${b.at(-1) ?? '-'}`
  }
  console.log(
    `model request body bytes, first -> last measured (the thread's history grows every turn): ${modes.map((m) => `${m} ${bytes(m)}`).join(', ')}`,
  )
  const byPrevious = (m: Mode) =>
    modes
      .filter((p) => p !== m)
      .map((p) => {
        const v = samples[m].filter((x) => x.after === p).map((x) => x.totalMs)
        return `after ${p} ${ms(median(v))} (${v.length})`
      })
      .join(', ')
  console.log(
    `median ms by the mode that ran just before: ${modes.map((m) => `${m}: ${byPrevious(m)}`).join('; ')}`,
  )
}

function reportProfile(p: Profile, turnsBefore: number): void {
  const withBase = p.baseTurns.length > 0
  const rows = [
    withBase
      ? ['part', 'median ms', 'p90 ms', 'baseline median ms', 'baseline p90 ms']
      : ['part', 'median ms', 'p90 ms'],
  ]
  const stats = (values: number[]) => [ms2(median(values)), ms2(percentile(values, 90))]
  const row = (name: string, pick: (t: TurnProfile) => number) =>
    rows.push([name, ...stats(p.turns.map(pick)), ...(withBase ? stats(p.baseTurns.map(pick)) : [])])
  const plain = (name: string, values: number[], baseValues: number[] | null) =>
    rows.push([name, ...stats(values), ...(withBase ? (baseValues ? stats(baseValues) : ['', '']) : [])])
  row('client fetch -> gateway writes turn/start', (t) => t.preMs)
  row('turn/start written -> turn/completed received (gateway app-server)', (t) => t.agentMs)
  plain('the same, direct app-server (whole direct turn)', p.direct, null)
  row('turn/completed received -> client has the finished turn', (t) => t.postMs)
  row('before turn/start + after turn/completed (the gateway alone)', (t) => t.preMs + t.postMs)
  row('gateway turn, total (instrumented)', (t) => t.totalMs)
  row('SQLite, before turn/start', (t) => t.sqliteMs.pre)
  row('SQLite, during the turn', (t) => t.sqliteMs.during)
  row('SQLite, after turn/completed', (t) => t.sqliteMs.post)
  row('TurnEventMapper.map, all notifications', (t) => t.mapMs)
  plain('HTTP floor: POST .../turns {} answered 400', p.floor, p.baseFloor)
  console.log(
    `\nWhere the gateway's time goes: ${p.turns.length} more turns each (turns ${turnsBefore + 1}-${turnsBefore + p.turns.length} of each thread), gateway instrumented, medians per turn:\n`,
  )
  console.log(
    markdownTable(
      rows,
      rows[0]!.map((_, i) => i > 0),
    ),
  )
  if (withBase) {
    const paired = (name: string, pick: (t: TurnProfile) => number) => {
      const change = p.turns.map((t, i) => pick(t) - pick(p.baseTurns[i]!))
      console.log(`  ${name}: median ${signed(median(change))} ms (95% CI ${ci(change)})`)
    }
    console.log('\nthis checkout - baseline, paired per round:')
    paired('the gateway alone (before turn/start + after turn/completed)', (t) => t.preMs + t.postMs)
    paired('turn/start written -> turn/completed received', (t) => t.agentMs)
    paired('gateway turn, total (instrumented)', (t) => t.totalMs)
  }
  // the profile's rounds run turn and direct back to back: the gateway's own critical path (before turn/start, after
  // turn/completed) and what its turn costs inside the app-server's span, each against the direct turn of its round
  const inSpan = p.turns.map((t, i) => t.agentMs - p.direct[i]!)
  const own = p.turns.map((t) => t.preMs + t.postMs)
  console.log(
    `\nthe gateway's added per turn, split (paired per round): its own critical path (before turn/start + after turn/completed) median ${ms2(median(own))} ms (95% CI ${ci(own)});` +
      ` inside the app-server's span (turn/start -> turn/completed, gateway - direct) median ${signed(median(inSpan))} ms (95% CI ${ci(inSpan)})`,
  )
  const callsLine = (turns: TurnProfile[]) => {
    const calls = new Map<string, number>()
    for (const t of turns) for (const [name, n] of t.sqliteCalls) calls.set(name, (calls.get(name) ?? 0) + n)
    const perTurn = [...calls.entries()]
      .map(([name, n]) => [name, n / turns.length] as const)
      .sort((a, c) => c[1] - a[1])
    const sum = perTurn.reduce((a, [, n]) => a + n, 0)
    return `(${sum.toFixed(1)}): ${perTurn.map(([name, n]) => `${name} ${n.toFixed(1)}`).join(', ')}`
  }
  console.log(`\nstore calls per turn ${callsLine(p.turns)}`)
  if (withBase) console.log(`baseline's store calls per turn ${callsLine(p.baseTurns)}`)
  console.log(`notifications mapped per turn: ${median(p.turns.map((t) => t.mapCalls))}`)
}

function reportMemory(r: MemoryResult): void {
  const kb = (n: number) => (n / 1024).toFixed(1)
  const mb = (n: number) => (n / 1024 ** 2).toFixed(1)
  const rows = [
    [
      '',
      'before',
      `with ${r.k} more sessions`,
      'growth MB',
      'per idle session KB',
      'after unsubscribing their threads',
    ],
  ]
  const line = (name: string, pick: (m: Mem) => number) =>
    rows.push([
      name,
      mb(pick(r.before)),
      mb(pick(r.after)),
      mb(pick(r.after) - pick(r.before)),
      kb((pick(r.after) - pick(r.before)) / r.k),
      mb(pick(r.unloaded)),
    ])
  line('gateway heapUsed MB', (m) => m.heapUsed)
  line('gateway external MB', (m) => m.external)
  line('gateway RSS MB', (m) => m.rss)
  line(`app-server VmRSS MB (pid ${r.pid})`, (m) => m.appServerRss)
  line('processes the app-server started, RSS MB', (m) => m.appServerChildrenRss)
  rows.push([
    'threads loaded in the app-server',
    String(r.before.loadedThreads),
    String(r.after.loadedThreads),
    String(r.after.loadedThreads - r.before.loadedThreads),
    '-',
    String(r.unloaded.loadedThreads),
  ])
  console.log(
    `\n3. Memory per idle session: ${r.k} sessions created (POST /v1/sessions {}, no turn) after ${warmSessions} warm-up sessions\n`,
  )
  console.log(markdownTable(rows, [false, true, true, true, true, true]))
  const s = summarize(r.createMs)
  console.log(
    `\ngc: ${r.how}; POST /v1/sessions took median ${ms(s.median)} ms, p90 ${ms(s.p90)} ms (thread/start in the app-server)`,
  )
  console.log(
    `last column: after thread/unsubscribe of the ${r.k} threads through the gateway's driver (answers: ${r.unsubscribeAnswers.join(', ')}), 1 s later`,
  )
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const o = parseOptions()
  // the gateway's code this process runs (and the direct client's): dist/ with --built, src/ through tsx otherwise
  const { startServer, CodexDriver, AppServerProcess, TurnEventMapper, threadParams, threadSettings } =
    await gatewayModules(o.built)
  // the baseline's: its own modules (its node_modules), from the same kind of code as this checkout's
  const baseLoad = o.baseline ? gatewayLoader(o.built, o.baseline) : undefined
  const baseModules = baseLoad && {
    startServer: (await baseLoad<{ startServer: typeof startServer }>('http/server.js')).startServer,
    TurnEventMapper: (
      await baseLoad<{ TurnEventMapper: Profiled['mapper'] }>('agents/codex-app-server/turn-mapper.js')
    ).TurnEventMapper,
  }
  const scope = benchScope('agw-bench-')
  const { checkStop } = scope
  let mock: BenchMock | undefined
  let server: RunningServer | undefined
  let baseServer: RunningServer | undefined
  let direct: AppServerProcess | undefined
  let spinner: Spinner | undefined
  let httpClient: JsonClient | undefined
  let bench: Bench | undefined
  try {
    mock = await startBenchMock(answer, o.mock)
    // CODEX_WARM_RUNS=false: `exec` is what it says, a cold `codex exec` per run. A warm one-shot run would be a
    // thread on the same app-server as the session, and its ending would land in the next `turn`, not `direct`.
    const { env, dir } = gatewayEnv(mock, { CODEX_WARM_RUNS: 'false', ...o.env })
    server = await startServer({ env, cwd: dir, logger: false })
    const config = server.ctx.config
    const codex = server.ctx.registry.get('codex')
    if (!(codex instanceof CodexDriver) || !codex.binary)
      throw new BenchError('codex is not installed (npm ci installs the pinned @openai/codex)')
    if (config.CODEX_MODEL !== testModel) throw new BenchError('the gateway is not configured like the tests')
    const status = await codex.probe()

    // With --stream every session has the settings a stream's own session gets, so that all threads match.
    const sessionFields = o.stream ? streamSessionFields : {}
    const session = await createSession(server.url, sessionFields)
    // The direct client: the gateway's config and env (so the same argv, provider overrides, child env and,
    // unless --direct-home own, CODEX_HOME), the same process cwd, a thread with the same params.
    direct = new AppServerProcess({
      config,
      serverEnv: env,
      clientName: config.CODEX_CLIENT_NAME,
      cwd: existsSync(config.WORKSPACE_DIR) ? config.WORKSPACE_DIR : os.tmpdir(),
      ...(o.directHome === 'own' ? { codexHome: makeCodexHome() } : {}),
      requestTimeoutMs: config.CODEX_REQUEST_TIMEOUT * 1000,
    })
    spinner = o.directBusyUs > 0 && o.directBusyOn === 'thread' ? new Spinner() : undefined
    const client = new DirectClient(direct, o.directBusyUs, spinner)
    const settings = threadSettings(
      {
        cwd: session.cwd,
        ...(session.model ? { model: session.model } : {}),
        ...(session.sandbox ? { sandbox: session.sandbox as 'workspace-write' } : {}),
        ...(session.approvalPolicy ? { approvalPolicy: session.approvalPolicy as 'untrusted' } : {}),
      },
      config,
    )
    const thread = (await direct.request('thread/start', threadParams(settings))) as {
      thread?: { id?: string }
    }
    if (!thread.thread?.id) throw new BenchError(`direct: thread/start answered ${JSON.stringify(thread)}`)
    httpClient = jsonClient(o.client)
    const b: Bench = {
      mock,
      client: httpClient,
      server,
      mapper: TurnEventMapper,
      codex,
      sessionId: session.id,
      direct: client,
      threadId: thread.thread.id,
    }
    bench = b
    if (baseModules) {
      // The baseline's own server, configured like this one against the same mock (this checkout's test wiring:
      // the baseline's imports vitest, which runs only under vitest).
      const wired = gatewayEnv(mock, { CODEX_WARM_RUNS: 'false' })
      baseServer = await baseModules.startServer({ env: wired.env, cwd: wired.dir, logger: false })
      b.base = {
        server: baseServer,
        sessionId: (await createSession(baseServer.url, sessionFields)).id,
        mapper: baseModules.TurnEventMapper,
      }
    }
    if (o.gatewayProcess) {
      // This checkout's gateway as `npm start` runs it, configured like the one in this process (its own
      // CODEX_HOME and workspace), against the same mock
      const wired = gatewayEnv(mock, { CODEX_WARM_RUNS: 'false', ...o.env })
      // no event-loop delay sampling in it (its 10 ms timer would count as the gateway's CPU per turn), unless
      // AGW_BENCH_LOOP_DELAY=on (as before 2026-12-05)
      const env = { ...wired.env, AGW_BENCH_LOOP_DELAY: process.env.AGW_BENCH_LOOP_DELAY ?? 'off' }
      const gateway = await GatewayProcess.start(env, wired.dir, o.gatewayNodeArgs, false, o.built)
      b.proc = { gateway, sessionId: (await createSession(gateway.url, sessionFields)).id }
    }
    if (o.stream) {
      // One client per gateway, holding one h2c stream for all its turns; its first user_message (the first
      // warm-up round) creates the session it names, with the settings every session here has.
      if (o.warmup < 1)
        throw new BenchError('--stream needs --warmup 1 or more (the first stream turn creates its session)')
      const streamClient = (url: string) =>
        new StreamTurnClient(url, `bench-stream-${process.pid}-${url.split(':').at(-1)}`, o.framing)
      b.stream = streamClient(server.url)
      if (b.base) b.base.stream = streamClient(b.base.server.url)
    }
    const modes = allModes.filter(
      (m) =>
        (m !== 'base' || o.baseline) &&
        (m !== 'proc' || o.gatewayProcess) &&
        (m !== 'exec' || o.exec) &&
        (m !== 'stream' || o.stream) &&
        (m !== 'bstream' || (o.stream && o.baseline)),
    )
    const permutations = modes.join() === 'turn,direct,exec' ? defaultPermutations : permutationsOf(modes)

    console.log(
      'agent-gateway benchmark: warm session turns, the gateway per turn, memory per idle session\n',
    )
    console.log(
      machineLines(`codex:   ${status.version ?? 'unknown'} (${codex.binary ?? 'not found'})`).join('\n'),
    )
    console.log(loadLine('at the start'))
    console.log(
      `runs:    ${o.warmup} warm-up rounds, then ${o.iterations} iterations, interleaved ${modes.join(', ')}${o.order === 'permute' ? ` (cycling through their ${permutations.length} orders)` : ' (this order)'}; ${o.profile} profile rounds; ${o.sessions} idle sessions; direct app-server CODEX_HOME: ${o.directHome === 'shared' ? "the gateway's" : 'its own'}; the mock on ${o.mock === 'thread' ? 'a thread of its own' : "this process's event loop"}; HTTP client: ${o.client === 'http' ? 'node:http, keep-alive' : 'fetch'}; the gateway${o.baseline ? 's' : ''} and the direct client run from ${codeRan(o.built)}${o.directBusyUs > 0 ? `; THE DIRECT CLIENT IS HANDICAPPED: ${o.directBusyUs} µs of CPU per notification (on ${o.directBusyOn})` : ''}\n`,
    )
    if (o.baseline) console.log(`baseline: ${o.baseline}, its ${codeRan(o.built)} (mode base)\n`)
    if (o.stream)
      console.log(
        `stream:  ${o.framing === 'ws' ? 'GET /agent/ws (WebSocket)' : `POST /agent/stream, h2c, ${o.framing}`}, one per gateway for the whole run\n`,
      )

    for (let i = 0; i < o.warmup; i++) {
      for (const m of modes) await runners[m](b)
      checkStop()
    }
    const samples: Record<Mode, Sample[]> = {
      turn: [],
      proc: [],
      stream: [],
      base: [],
      bstream: [],
      direct: [],
      exec: [],
    }
    let previous: Mode | null = null
    // the gateway process idles while the other modes run: its CPU over the whole measurement is its `proc` turns'
    await b.proc?.gateway.mark()
    for (let i = 0; i < o.iterations; i++) {
      for (const m of o.order === 'permute' ? permutations[i % permutations.length]! : modes) {
        const cpu0 = process.cpuUsage()
        const sample = await runners[m](b)
        const cpu = process.cpuUsage(cpu0)
        samples[m].push({ ...sample, after: previous, cpuMs: (cpu.user + cpu.system) / 1000 })
        previous = m
      }
      checkStop()
      if (process.stderr.isTTY)
        process.stderr.write(`\r${i + 1}/${o.iterations}${i + 1 === o.iterations ? '\n' : ''}`)
    }
    reportTurns(samples, modes)
    if (b.proc) {
      const used = await b.proc.gateway.usage()
      console.log(
        `CPU of the gateway process (--gateway-process) per proc turn, over the whole measurement (it idles between them): ${ms2(used.cpuMs / samples.proc.length)} ms; the proc mode's "CPU of this process" above is its client's and the mock's only`,
      )
    }

    if (o.profile > 0) {
      const base = b.base && {
        url: b.base.server.url,
        sessionId: b.base.sessionId,
        codex: b.base.server.ctx.registry.get('codex') as CodexDriver,
        store: b.base.server.ctx.store,
        mapper: b.base.mapper,
      }
      const p = await profile(b, o.profile, base)
      checkStop()
      reportProfile(p, o.warmup + o.iterations)
    }
    if (o.windows > 0) await windows(b, o.windows, o.cpuProf, o.stream)
    const gw = await gatewaySession(b.server.url, b.sessionId)
    const turnsEach = o.warmup + o.iterations + o.profile + o.windows
    if (gw.turnCount !== turnsEach)
      throw new BenchError(`the session has ${gw.turnCount} turns, expected ${turnsEach}`)
    console.log(
      `\nthe session: ${gw.turnCount} turns, ${gw.lastSeq} events stored (${(gw.lastSeq / gw.turnCount).toFixed(1)} per turn); the direct thread: ${turnsEach} turns`,
    )

    // The direct app-server and the baseline are done: close them, so the gateway's is the only app-server left.
    await direct.close()
    b.stream?.close()
    b.base?.stream?.close()
    await baseServer?.close()
    baseServer = undefined
    await b.proc?.gateway.close()
    if (o.sessions > 0) reportMemory(await idleSessions(b, o.sessions))
    console.log(`\n${loadLine('at the end')}`)
  } finally {
    // Each is closed even when another one's close fails (a failure left the mock and a gateway running once).
    httpClient?.close()
    bench?.stream?.close()
    bench?.base?.stream?.close()
    for (const closing of [spinner, direct, baseServer, bench?.proc?.gateway, server, mock])
      await closing?.close().catch((err: unknown) => {
        console.error(`cleanup: ${(err as Error).message}`)
        process.exitCode = 1
      })
    const left = appServerChildren()
    if (left.length > 0) {
      console.error(
        `left running after cleanup (killed now): ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`,
      )
      for (const p of left) {
        try {
          process.kill(p.pid, 'SIGKILL')
        } catch {
          // gone meanwhile
        }
      }
      process.exitCode = 1
    } else console.log('cleanup: the gateway and both app-servers are closed, no app-server left running')
    scope.close()
  }
}

runBench(main)
