/**
 * Event relay, concurrency and SSE memory of the /v1 runs API (`npx tsx bench/event-relay.ts`).
 *
 * Starts a gateway (CLI_LIST=node, MAX_CONCURRENT_RUNS=100; for the relay in a process of its own, see --gateway)
 * and drives it with bench/replay-agent.mjs, a plain Node script that writes timestamped JSONL lines like a chatty
 * agent:
 *   1. relay   the agent read directly (spawn, read stdout to the end) vs through the gateway (POST /v1/runs
 *              {agent:'cli', command:{cli:'node', args}} with Accept: text/event-stream, stdout lines rebuilt
 *              from the `output` events), interleaved: lines/s, per-line latency (receive time - the time the
 *              agent wrote the line), and the events the gateway stored per run. Two workloads: `burst` (the
 *              agent writes as fast as it can: throughput, latency includes queueing) and `paced` (~1000
 *              lines/s: latency of the relay itself).
 *   2. concurrency  100 runs at once, each streamed over its own SSE connection; every one must complete
 *              `succeeded` with all its lines.
 *   3. memory  one long-running run (--slow), K SSE subscribers to /v1/runs/:id/events opened from a separate
 *              process (bench/sse-subscribers.mjs, so client sockets do not count), the gateway's memory
 *              before and after (after gc): bytes per open connection.
 * docs/benchmarks.md explains the output.
 *
 * Usage: npx tsx bench/event-relay.ts [--events N] [--reps N] [--runs N] [--run-events N] [--subscribers K]
 *          [--only relay,concurrency,memory] [--gateway inline|process] [--gateway-node-args '--cpu-prof ...']
 *   --events       lines per relay run (burst), default 20000; --reps repetitions per mode, default 3
 *   --warmup       warm-up rounds per workload, default 1 (a fresh gateway's first ~30 MB of events cost more
 *                  per event while its heap grows: --warmup 3 measures a gateway that has run a while)
 *   --runs         concurrent runs, default 100; --run-events lines per concurrent run, default 500
 *   --subscribers  SSE connections for the memory measurement, default 200; reading subscribers are checked to
 *                  get every event (ids without a gap from the first they asked for); thousands need `ulimit -n`
 *                  above their number in the shell that starts the bench (the bench says so and stops otherwise)
 *   --stalled      the memory measurement's subscribers read their first event and then nothing (a slow reader:
 *                  the kernel's socket buffers fill, then the gateway's own unsent bytes per stream), while the
 *                  run writes ~2 MB/s for 10 s; mind the kernel's memory: ~4 MB of socket buffers per connection
 *   --heap-snapshots  a directory: the memory phase writes the gateway process's heap snapshots there, before
 *                  and with the subscribers (after gc), to diff (bench/heap-diff.ts; the snapshots also hold the
 *                  bench's own client objects, which are the same on both)
 *   --only         run only these phases
 *   --gateway      where the relay phase's gateway runs: `process` (default: bench/gateway-process.ts, a process
 *                  of its own, as deployed; "cpu ms" via server is the client's plus the gateway process's, and
 *                  "loop p99 ms" the gateway's) or `inline` (in this process, as before 2026-12-02: the client's
 *                  HTTP, SSE and JSON parsing of every event then runs on the gateway's event loop, between its
 *                  reads of the agent's pipe). Concurrency and memory always use a gateway in this process.
 *   --workloads    the relay's workloads, default burst,paced; `steady` (54 KB every 2 ms) compares the gateway's
 *                  CPU per event of two builds at the same event count (--baseline)
 *   --baseline     a checkout (with node_modules) whose gateway also runs in a process of its own, with this
 *                  bench's probe (bench/gateway-process.ts); the relay then alternates direct, via server and
 *                  via baseline in each rep (each rep in another of their 6 orders: give --reps a multiple of 6)
 *                  and prints the "via baseline" rows and ratios beside this build's
 *   --blocks       with --baseline: the relay's reps in this many blocks, each with both gateways started afresh, the
 *                  one started first alternating (block 1: this checkout's, block 2: the baseline's, ...), each
 *                  block with its own --warmup rounds; prints each block's ratios beside the pooled medians, with
 *                  each gateway's CPU and GC ms per run, its young generation's scavenges, young and promoted MB
 *                  per run and new space size (bench/young-generation.ts), its stored events per run, and each
 *                  mode's first-line and total ms in the block (what made a block low: its gateway process, or its
 *                  direct reads). Two
 *                  gateway processes of the same build differ by several % (the one started first, each process's
 *                  own heap and page luck): one pair of processes cannot show a few % between builds. Default 1.
 *                  An A/A (the same build on both sides): --baseline <this checkout>.
 *   --built        the relay's gateways (this checkout's and the baseline's) run their built dist/, what `npm start`
 *                  runs (`npm run build` in each first), instead of src/ through tsx: tsx's esbuild adds a `__name`
 *                  call to every function made at run time (docs/benchmarks.md, "Issue 14, session 15")
 *   --gateway-node-args  node flags for that gateway process, space-separated (with =, e.g. a CPU profile of the gateway
 *                  alone: --gateway-node-args='--cpu-prof --cpu-prof-dir=/tmp/prof')
 *   --trace        where each event's latency goes (gateway process only): the gateway records each event's step
 *                  times (bench/relay-trace-gateway.ts), the client its receive times, run-queue waits and GC
 *                  pauses; prints the steps' distribution and the slowest 1% of events with what made them slow
 *                  (bench/relay-attribution.ts). Adds a few µs per event on both sides.
 *   --trace-out    with --trace: also writes every run's raw times as JSON to this file (CLOCK_MONOTONIC ms, as
 *                  `perf record -k CLOCK_MONOTONIC` stamps scheduler events, to join them)
 * For exact heap numbers run it as `node --expose-gc --import tsx bench/event-relay.ts`; without the flag it
 * enables gc through v8.setFlagsFromString. Exits 0 when every check passed, 1 otherwise (or on Ctrl-C).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { monitorEventLoopDelay, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { StringDecoder } from 'node:string_decoder'
import { setTimeout as sleep } from 'node:timers/promises'
import v8 from 'node:v8'
import { type RunningServer, startServer } from '../src/http/server.js'
import { baseChildEnv } from '../src/process/child-env.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { readSseUntil } from '../test/support/sse-client.js'
import { benchScope, runBench } from './bench-scope.js'
import { GatewayProcess, gatewayScript } from './gateway-process-client.js'
import { findGc } from './gc.js'
import { loadLine, machineLines } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { type ClientEvent, reportAttribution, type TracedRun } from './relay-attribution.js'
import { type GcPause, monoMs, runQueueWaitMs } from './relay-trace-gateway.js'
import { markdownTable, median, percentile } from './stats.js'

const agentScript = path.join(import.meta.dirname, 'replay-agent.mjs')
const subscriberScript = path.join(import.meta.dirname, 'sse-subscribers.mjs')
const opTimeoutMs = 120_000

/** Wall clock with fractions, as the agent's `t` (a cross-check of the monotonic latencies). */
const wallMs = () => performance.timeOrigin + performance.now()

interface Options {
  events: number
  reps: number
  /** Warm-up rounds per workload before the repetitions. */
  warmup: number
  runs: number
  runEvents: number
  subscribers: number
  /** The subscribers stop reading after their first event (a slow reader), and the run writes fast. */
  stalled: boolean
  /** The memory phase's heap snapshots go to this directory (before and with the subscribers). */
  heapSnapshots: string | null
  /** The memory phase's run writes a line this often (ms); null: the default for the subscriber count. */
  lineInterval: number | null
  only: Set<Phase>
  gateway: 'inline' | 'process'
  /** Extra node flags for the gateway process (e.g. `--cpu-prof --cpu-prof-dir=DIR`). */
  gatewayNodeArgs: string[]
  /** The relay's gateway processes run their checkout's dist/ (AGW_BENCH_BUILT=1). */
  built: boolean
  /** The relay's workloads to run (burst, paced). */
  workloads: string[]
  /** Another checkout (built, with node_modules) whose gateway runs beside this one, interleaved. */
  baseline: string | null
  /** The relay's reps in this many blocks, each with both gateways started afresh, the first one alternating. */
  blocks: number
  /** Per-event step times and their attribution (gateway process only). */
  trace: boolean
  traceOut: string | null
}

type Phase = 'relay' | 'concurrency' | 'memory'
const phases: Phase[] = ['relay', 'concurrency', 'memory']

function parseOptions(): Options {
  const { values } = benchArgs({
    options: {
      events: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      runs: { type: 'string' },
      'run-events': { type: 'string' },
      subscribers: { type: 'string' },
      stalled: { type: 'boolean', default: false },
      'heap-snapshots': { type: 'string' },
      'line-interval': { type: 'string' },
      only: { type: 'string' },
      gateway: { type: 'string' },
      'gateway-node-args': { type: 'string' },
      built: { type: 'boolean', default: false },
      workloads: { type: 'string' },
      baseline: { type: 'string' },
      blocks: { type: 'string' },
      trace: { type: 'boolean', default: false },
      'trace-out': { type: 'string' },
    },
    strict: true,
  })
  const count = intOption
  const blocks = count(values.blocks, 1, 'blocks')
  const reps = count(values.reps, 3, 'reps')
  if (blocks > 1 && !values.baseline) throw new BenchError('--blocks needs --baseline')
  if (blocks > 1 && (values.trace || values['trace-out']))
    throw new BenchError('--blocks does not take --trace')
  if (blocks < 1 || reps % blocks !== 0)
    throw new BenchError(`--reps (${reps}) must be a multiple of --blocks`)
  return {
    events: count(values.events, 20_000, 'events'),
    reps,
    warmup: count(values.warmup, 1, 'warmup'),
    runs: count(values.runs, 100, 'runs'),
    runEvents: count(values['run-events'], 500, 'run-events'),
    subscribers: count(values.subscribers, 200, 'subscribers'),
    stalled: values.stalled === true,
    heapSnapshots: values['heap-snapshots'] ? path.resolve(values['heap-snapshots']) : null,
    lineInterval:
      values['line-interval'] === undefined ? null : count(values['line-interval'], 0, 'line-interval'),
    only: new Set(values.only ? values.only.split(',').map((p) => phase(p.trim())) : phases),
    gateway: gatewayWhere(values.gateway ?? 'process'),
    gatewayNodeArgs: values['gateway-node-args']?.split(' ').filter(Boolean) ?? [],
    built: values.built === true,
    workloads: values.workloads?.split(',').map((w) => w.trim()) ?? ['burst', 'paced'],
    baseline: values.baseline ? path.resolve(values.baseline) : null,
    blocks,
    trace: values.trace === true || values['trace-out'] !== undefined,
    traceOut: values['trace-out'] ?? null,
  }
}

function gatewayWhere(name: string): Options['gateway'] {
  if (name === 'inline' || name === 'process') return name
  throw new BenchError(`--gateway takes inline or process, got "${name}"`)
}

function phase(name: string): Phase {
  if ((phases as string[]).includes(name)) return name as Phase
  throw new BenchError(`--only takes ${phases.join(', ')} (comma-separated), got "${name}"`)
}

// ---------------------------------------------------------------- reading the agent's lines

interface ReplayLine {
  i: number
  t: number
  m: number
}

/** Rebuilds lines from text chunks (partial lines are kept across chunks) and timestamps each on arrival. */
class LineCollector {
  lines = 0
  outOfOrder = 0
  firstRecv: number | null = null
  lastRecv = 0
  firstSent: number | null = null
  lastSent = 0
  /** Receive time - agent write time, monotonic clock, ms. */
  readonly latency: number[] = []
  /** The same on the wall clock (`t`), to check the two clocks agree. */
  readonly wallLatency: number[] = []
  private partial = ''

  /** Returns the agent's write time (`m`) of the last line the text completed, or NaN if it completed none. */
  feed(text: string, recvMono: number, recvWall: number): number {
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop() ?? ''
    let sent = Number.NaN
    for (const raw of parts) {
      if (!raw) continue
      const line = JSON.parse(raw) as ReplayLine
      if (line.i !== this.lines) this.outOfOrder++
      this.lines++
      this.firstRecv ??= recvMono
      this.lastRecv = recvMono
      this.firstSent ??= line.m
      this.lastSent = line.m
      this.latency.push(recvMono - line.m)
      this.wallLatency.push(recvWall - line.t)
      sent = line.m
    }
    return sent
  }

  /** Text left without a newline at the end of the stream (should be none). */
  get leftover(): string {
    return this.partial
  }
}

interface RelaySample {
  /** Start (spawn / fetch) to the last line received. */
  totalMs: number
  lines: number
  /** First line received to last line received. */
  streamMs: number
  /** The agent's own first-to-last line span (it slows down when the CPU is shared). */
  agentSpanMs: number
  /** Start to the first line received. */
  firstLineMs: number
  latency: number[]
  wallLatency: number[]
  outOfOrder: number
  /** direct: stdout chunks read; via server: `output` events received. */
  chunks: number
  /** via server: the run's lastSeq (every event it stored). */
  storedEvents: number | null
  /** Event-loop delay of this process during the run (the gateway, and the client, live here). */
  loopP99Ms: number
  loopMaxMs: number
  /** direct: how long child_process.spawn() blocked this process's event loop. */
  spawnCallMs?: number
  /** CPU (user + system) this process used during the run: the gateway and the client, or the reader. */
  cpuMs: number
  /** via server with --gateway process: the part of cpuMs the gateway process used. */
  gatewayCpuMs?: number
  /** via server with --gateway process: the gateway process's minor page faults (memory touched the first time). */
  gatewayPageFaults?: number
  /** via server with --gateway process: the gateway's garbage-collection pauses, total and longest, ms. */
  gatewayGcMs?: number
  gatewayGcMaxMs?: number
  /** ... and how many of them were full (mark-compact) collections. */
  gatewayGcMajors?: number
  /** The gateway's scavenges in the run, the young bytes they found, what they promoted, its new space's size then. */
  gatewayScavenges?: number
  gatewayYoungBytes?: number
  gatewayPromotedBytes?: number
  gatewayNewSpaceBytes?: number
  /** --trace: each event's (direct: each chunk's) times. */
  trace?: TracedRun
  /** --blocks: the block (both gateways started afresh) the sample was taken in, from 0. */
  block?: number
}

const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

function sampleFrom(
  c: LineCollector,
  t0: number,
  cpu0: NodeJS.CpuUsage,
  chunks: number,
  storedEvents: number | null,
  loop: ReturnType<typeof monitorEventLoopDelay> | null,
): RelaySample {
  return {
    totalMs: c.lastRecv - t0,
    lines: c.lines,
    streamMs: c.lastRecv - (c.firstRecv ?? c.lastRecv),
    agentSpanMs: c.lastSent - (c.firstSent ?? c.lastSent),
    firstLineMs: (c.firstRecv ?? Number.NaN) - t0,
    latency: c.latency,
    wallLatency: c.wallLatency,
    outOfOrder: c.outOfOrder,
    chunks,
    storedEvents,
    loopP99Ms: loop ? loop.percentile(99) / 1e6 : Number.NaN,
    loopMaxMs: loop ? loop.max / 1e6 : Number.NaN,
    cpuMs: cpuMsSince(cpu0),
  }
}

/**
 * Event-loop delay sampled every 10 ms, as the gateway's own metrics do (prom-client). A 1 ms timer (before
 * 2026-12-02) woke the process 1,000 times a second, which cost about 30 ms of CPU per second on this VM: a
 * third of a paced run's gateway CPU was the bench's own probe, not the relay.
 */
const loopResolutionMs = 10

const loopMonitor = () => {
  const loop = monitorEventLoopDelay({ resolution: loopResolutionMs })
  loop.enable()
  return loop
}

// ---------------------------------------------------------------- direct and via the gateway

interface Gateway {
  url: string
  /** The gateway in this process (`--gateway inline`, and always for concurrency and memory). */
  server: RunningServer | null
  /** The gateway in its own process (`--gateway process`, relay only). */
  remote: GatewayProcess | null
  /** The baseline checkout's gateway in its own process (`--baseline`). */
  baseline?: { url: string; remote: GatewayProcess }
  /** The gateway's environment: direct agents get the same child env as the gateway's (baseChildEnv of it). */
  env: NodeJS.ProcessEnv
  /** The node binary the gateway's cli driver resolves, so direct runs the same one. */
  node: string
  workspace: string
  children: Set<ChildProcess>
  /** --trace: record each event's times. */
  trace?: boolean
}

/** --trace: the client's receive time, run-queue wait and GC pauses for each event of one run. */
class ClientTracer {
  readonly events: ClientEvent[] = []
  private readonly gc: GcPause[] = []
  private readonly observer: PerformanceObserver
  private readonly offset = monoMs() - performance.now()

  constructor() {
    this.observer = new PerformanceObserver((list) => this.keep(list.getEntries()))
    this.observer.observe({ entryTypes: ['gc'] })
  }

  private keep(entries: PerformanceEntry[]): void {
    for (const e of entries)
      this.gc.push({
        start: e.startTime + this.offset,
        ms: e.duration,
        kind: (e as { detail?: { kind?: number } }).detail?.kind ?? 0,
      })
  }

  /** An event (or chunk) that completed lines, the last of them written by the agent at `sent`. */
  note(seq: number, sent: number, recv: number): void {
    if (Number.isFinite(sent)) this.events.push({ seq, sent, recv, waitAtRecv: runQueueWaitMs() })
  }

  finish(gateway?: TracedRun['gateway']): TracedRun {
    this.keep(this.observer.takeRecords())
    this.observer.disconnect()
    return { client: this.events, clientGc: this.gc, ...(gateway ? { gateway } : {}) }
  }
}

/**
 * Spawns the agent like src/process/spawn-group.ts (own group, three pipes) with the env the cli driver
 * gives it. Not process.env: variables such as NODE_EXTRA_CA_CERTS cost a child node ~40 ms at startup.
 */
async function runDirect(g: Gateway, args: string[], expected: number, monitor = true): Promise<RelaySample> {
  const collector = new LineCollector()
  const loop = monitor ? loopMonitor() : null
  const tracer = g.trace && monitor ? new ClientTracer() : null
  const decoder = new StringDecoder('utf8')
  let chunks = 0
  let stderr = ''
  const cpu0 = process.cpuUsage()
  const t0 = monoMs()
  const child = spawn(g.node, [agentScript, ...args], {
    cwd: g.workspace,
    env: baseChildEnv(g.env),
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  })
  const spawnCallMs = monoMs() - t0
  g.children.add(child)
  child.stdin.end()
  child.stdout.on('data', (buf: Buffer) => {
    const recvMono = monoMs()
    const recvWall = wallMs()
    const sent = collector.feed(decoder.write(buf), recvMono, recvWall)
    tracer?.note(chunks, sent, recvMono)
    chunks++
  })
  child.stderr.on('data', (buf: Buffer) => {
    stderr += buf.toString('utf8')
  })
  const killer = setTimeout(() => killGroup(child), opTimeoutMs)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (c) => resolve(c))
  }).finally(() => {
    clearTimeout(killer)
    g.children.delete(child)
    loop?.disable()
  })
  if (code !== 0 || collector.lines !== expected || collector.outOfOrder > 0 || collector.leftover)
    throw new BenchError(
      `direct: exit ${code}, ${collector.lines}/${expected} lines, ${collector.outOfOrder} out of order\n${stderr}`,
    )
  return {
    ...sampleFrom(collector, t0, cpu0, chunks, null, loop),
    spawnCallMs,
    ...(tracer ? { trace: tracer.finish() } : {}),
  }
}

interface ServerRun {
  sample: RelaySample
  runId: string
  status: string | null
  stderr: string
}

/**
 * POST /v1/runs with Accept: text/event-stream; rebuilds stdout lines from the `output` events. `monitor`
 * records the event-loop delay during the run (off when many run at once).
 */
async function runViaServer(
  g: Gateway,
  args: string[],
  monitor = true,
  target: { url: string; remote: GatewayProcess | null } = g,
): Promise<ServerRun> {
  const url = target.url
  await target.remote?.mark()
  const loop = monitor && !target.remote ? loopMonitor() : null
  const tracer = g.trace && monitor && target.remote ? new ClientTracer() : null
  const collector = new LineCollector()
  let outputs = 0
  let stderr = ''
  let status: string | null = null
  const cpu0 = process.cpuUsage()
  const t0 = monoMs()
  const res = await fetch(`${url}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ agent: 'cli', command: { cli: 'node', args: [agentScript, ...args] } }),
    signal: AbortSignal.timeout(opTimeoutMs),
  })
  const runId = res.headers.get('x-run-id')
  if (res.status !== 200 || !runId)
    throw new BenchError(`POST /v1/runs: HTTP ${res.status} ${await res.text()}`)
  await readSseUntil(
    res,
    (frame) => {
      const recvMono = monoMs()
      const recvWall = wallMs()
      if (frame.event === 'output') {
        const ev = JSON.parse(frame.data) as { stream: string; data: string }
        if (ev.stream === 'stdout') {
          outputs++
          // (fed first: `tracer?.note(..)` evaluates no argument without a tracer)
          const sent = collector.feed(ev.data, recvMono, recvWall)
          tracer?.note(Number(frame.id), sent, recvMono)
        } else stderr += ev.data
      }
      if (frame.event !== 'run.completed') return false
      status = (JSON.parse(frame.data) as { status: string }).status
      return true
    },
    { keep: false },
  )
  loop?.disable()
  const sample = sampleFrom(collector, t0, cpu0, outputs, null, loop)
  if (target.remote) {
    // the client's CPU and the gateway process's; the event-loop delay is the gateway's
    const remote = await target.remote.usage()
    sample.cpuMs += remote.cpuMs
    sample.gatewayCpuMs = remote.cpuMs
    sample.gatewayPageFaults = remote.pageFaults
    sample.gatewayGcMs = remote.gcMs
    sample.gatewayGcMaxMs = remote.gcMaxMs
    sample.gatewayGcMajors = remote.gcMajors
    sample.gatewayScavenges = remote.scavenges
    sample.gatewayYoungBytes = remote.youngBytes
    sample.gatewayPromotedBytes = remote.promotedBytes
    sample.gatewayNewSpaceBytes = remote.newSpaceBytes
    sample.loopP99Ms = remote.loopP99Ms
    sample.loopMaxMs = remote.loopMaxMs
    if (tracer) sample.trace = tracer.finish(await target.remote.trace())
  }
  const run = (await (await fetch(`${url}/v1/runs/${runId}`)).json()) as { lastSeq: number }
  sample.storedEvents = run.lastSeq
  return { sample, runId, status, stderr }
}

function checkServerRun(r: ServerRun, expected: number): string | null {
  const s = r.sample
  if (r.status !== 'succeeded') return `${r.runId}: status ${r.status}${r.stderr ? `: ${r.stderr}` : ''}`
  if (s.lines !== expected) return `${r.runId}: ${s.lines}/${expected} lines`
  if (s.outOfOrder > 0) return `${r.runId}: ${s.outOfOrder} lines out of order`
  return null
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------- 1. relay

type Mode = 'direct' | 'via server' | 'via baseline'

/** Every order of `items` (3 items: 6 orders), each item first equally often. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((first, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [first, ...rest]),
  )
}

interface Workload {
  name: string
  args: string[]
  lines: number
}

/** The relay's gateways for one block (`--blocks`): started by `open`, ended by `close`. */
interface RelayGateways {
  /** Starts them; `baselineFirst`: the baseline's gateway before this checkout's. */
  open(baselineFirst: boolean): Promise<Gateway>
  close(g: Gateway): Promise<void>
}

async function relay(gateways: RelayGateways, o: Options, stop: () => void) {
  const workloads: Workload[] = [
    { name: 'burst', args: ['--events', String(o.events)], lines: o.events },
    // 10 lines every 10 ms: ~1000 lines/s, well under what either path can take.
    { name: 'paced', args: ['--events', '2000', '--batch', '10', '--interval', '10'], lines: 2000 },
    // ~54 KB (270 lines) every 2 ms: full pipe reads, about one event each whichever build is faster, so the
    // gateway's CPU per run compares builds at (about) the same event count; not in the default set.
    { name: 'steady', args: ['--events', '20000', '--batch', '270', '--interval', '2'], lines: 20000 },
  ].filter((w) => o.workloads.includes(w.name))
  const results = new Map<string, Record<Mode, RelaySample[]>>(
    workloads.map((w) => [w.name, { direct: [], 'via server': [], 'via baseline': [] }]),
  )
  const repsPerBlock = o.reps / o.blocks
  let g: Gateway | undefined
  for (let block = 0; block < o.blocks; block++) {
    // the gateway started first alternates: its process pays the start's page faults and heap growth differently
    g = await gateways.open(block % 2 === 1)
    for (const w of workloads)
      await relayBlock(g, w, o, block, block * repsPerBlock, repsPerBlock, results.get(w.name)!, stop)
    if (block < o.blocks - 1) await gateways.close(g)
  }
  return { workloads, results, last: g! }
}

/** One block of one workload: its warm-up rounds, then its reps (`rep0`.. for the orders), into `samples`. */
async function relayBlock(
  g: Gateway,
  w: Workload,
  o: Options,
  block: number,
  rep0: number,
  reps: number,
  samples: Record<Mode, RelaySample[]>,
  stop: () => void,
): Promise<void> {
  const modes: Mode[] = g.baseline ? ['direct', 'via server', 'via baseline'] : ['direct', 'via server']
  // Warm-up rounds (JIT, SQLite pages, sockets; a fresh gateway's first ~30 MB of events also grow V8's young
  // generation, each new page a page fault: bench/sqlite-page-cache.ts), then the repetitions, each in another order: with three
  // modes all six in turn (rotating one order would keep its cycle, so `via baseline` would always come right
  // after `via server`: that favoured the baseline by about 0.04 of the burst ratio), with two both.
  for (let i = 0; i < o.warmup; i++) {
    await runDirect(g, w.args, w.lines)
    await runViaServer(g, w.args)
    if (g.baseline) await runViaServer(g, w.args, true, g.baseline)
  }
  const orders = permutations(modes)
  for (let rep = rep0; rep < rep0 + reps; rep++) {
    const order = orders[rep % orders.length]!
    for (const mode of order) {
      if (mode === 'direct') samples.direct.push({ ...(await runDirect(g, w.args, w.lines)), block })
      else {
        const r = await runViaServer(g, w.args, true, mode === 'via baseline' ? g.baseline : g)
        const error = checkServerRun(r, w.lines)
        if (error) throw new BenchError(`${mode}: ${error}`)
        samples[mode].push({ ...r.sample, block })
      }
      stop()
    }
  }
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-')
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-')
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-')
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`
const perSec = (lines: number, ms: number) => (lines / ms) * 1000

function reportRelay(o: Options, r: Awaited<ReturnType<typeof relay>>): void {
  const rows = [
    [
      'workload',
      'mode',
      'first line ms',
      'total ms',
      'lines/s',
      'stream lines/s',
      'agent span ms',
      'latency p50 ms',
      'p99 ms',
      'max ms',
      'chunks / events',
      'stored events',
      'loop p99 ms',
      'cpu ms',
      'of it gateway',
      'gateway gc ms / max, full GCs in all reps',
    ],
  ]
  const summary: string[] = []
  for (const w of r.workloads) {
    const samples = r.results.get(w.name)!
    const med = (mode: Mode, pick: (s: RelaySample) => number) => median(samples[mode].map(pick))
    const lat = (mode: Mode, p: number) => med(mode, (s) => percentile(s.latency, p))
    const modes: Mode[] =
      samples['via baseline'].length > 0 ? ['direct', 'via server', 'via baseline'] : ['direct', 'via server']
    for (const mode of modes) {
      rows.push([
        w.name,
        mode,
        f1(med(mode, (s) => s.firstLineMs)),
        f1(med(mode, (s) => s.totalMs)),
        int(med(mode, (s) => perSec(s.lines, s.totalMs))),
        int(med(mode, (s) => perSec(s.lines - 1, s.streamMs))),
        f1(med(mode, (s) => s.agentSpanMs)),
        f2(lat(mode, 50)),
        f2(lat(mode, 99)),
        f2(med(mode, (s) => Math.max(...s.latency))),
        int(med(mode, (s) => s.chunks)),
        mode === 'direct' ? '-' : int(med(mode, (s) => s.storedEvents ?? Number.NaN)),
        f1(med(mode, (s) => s.loopP99Ms)),
        f1(med(mode, (s) => s.cpuMs)),
        f1(med(mode, (s) => s.gatewayCpuMs ?? Number.NaN)),
        mode === 'direct' || o.gateway === 'inline'
          ? '-'
          : `${f1(med(mode, (s) => s.gatewayGcMs ?? Number.NaN))} / ${f2(med(mode, (s) => s.gatewayGcMaxMs ?? Number.NaN))} / ${sum(samples[mode].map((s) => s.gatewayGcMajors ?? 0))}`,
      ])
    }
    for (const via of modes.slice(1)) {
      const ratio = (pick: (s: RelaySample) => number) => med(via, pick) / med('direct', pick)
      const addedCpu = med(via, (s) => s.cpuMs) - med('direct', (s) => s.cpuMs)
      summary.push(
        `${w.name}: ${via} / direct lines/s ${ratio((s) => perSec(s.lines, s.totalMs)).toFixed(3)} ` +
          `(stream ${ratio((s) => perSec(s.lines - 1, s.streamMs)).toFixed(3)}); added latency ` +
          `p50 ${signed(lat(via, 50) - lat('direct', 50))} ms, p99 ${signed(lat(via, 99) - lat('direct', 99))} ms; ` +
          `added CPU in ${o.gateway === 'inline' ? 'this process' : 'the client and the gateway process'} ${f2((addedCpu / w.lines) * 1000)} µs per line, ` +
          `${f2(addedCpu / med(via, (s) => s.chunks))} ms per output event` +
          (o.gateway === 'process'
            ? `, of which the gateway process ${f2(med(via, (s) => (s.gatewayCpuMs ?? Number.NaN) / s.chunks))} ms` +
              ` (${f1(med(via, (s) => s.gatewayCpuMs ?? Number.NaN))} ms per run; ` +
              `${int(med(via, (s) => s.gatewayPageFaults ?? Number.NaN))} page faults per run)`
            : ''),
      )
      // A fresh gateway's CPU per run falls over its first ~20 runs (TurboFan compiling on its threads, the young
      // generation growing): the run order shows how much of the median is that warm-up.
      const cpus = samples[via].map((s) => s.gatewayCpuMs ?? Number.NaN)
      if (o.gateway === 'process' && cpus.length >= 4)
        summary.push(
          `  ${via}: gateway CPU per run in run order (ms) ${cpus.map(f1).join(' ')}; median of the first half ` +
            `${f1(median(cpus.slice(0, cpus.length >> 1)))}, of the second ${f1(median(cpus.slice(cpus.length >> 1)))}`,
        )
    }
    if (o.blocks > 1) summary.push(...blockLines(w.name, samples, o.blocks))
  }
  console.log(
    `\n## 1. Relay: ${o.events} lines burst and 2000 lines paced, medians of ${o.reps} interleaved reps\n`,
  )
  console.log(
    markdownTable(
      rows,
      rows[0]!.map((_, col) => col > 1),
    ),
  )
  console.log(`\n${summary.join('\n')}`)
  const all = [...r.results.values()].flatMap((s) => [...s.direct, ...s['via server']])
  const skew = median(all.map((s) => Math.abs(median(s.wallLatency) - median(s.latency))))
  console.log(
    `clock check: wall-clock (t) vs monotonic (m) median latency differ by ${f2(skew)} ms (median over runs)`,
  )
}

/**
 * --blocks: each block's lines/s ratios (its own medians) and the gateway started first in it, then the spread of the
 * blocks' "via server / via baseline": with the same build on both sides (an A/A) that spread is what a pair of
 * gateway processes differs by, the least a difference between two builds must exceed to mean anything.
 */
function blockLines(name: string, samples: Record<Mode, RelaySample[]>, blocks: number): string[] {
  const lines: string[] = []
  const between: number[] = []
  for (let b = 0; b < blocks; b++) {
    const rate = (mode: Mode) =>
      median(samples[mode].filter((s) => s.block === b).map((s) => perSec(s.lines, s.totalMs)))
    const server = rate('via server') / rate('direct')
    const base = rate('via baseline') / rate('direct')
    between.push(server / base)
    // each gateway process's own CPU and GC, and each mode's first line and total, in the block: what made it low
    const each = (mode: Mode, pick: (s: RelaySample) => number) =>
      f1(median(samples[mode].filter((s) => s.block === b).map(pick)))
    const gw = (mode: Mode) =>
      `${each(mode, (s) => s.gatewayCpuMs ?? Number.NaN)} / ${each(mode, (s) => s.gatewayGcMs ?? Number.NaN)}`
    const mb = (bytes: number | undefined) => (bytes ?? Number.NaN) / 1e6
    // the young generation's side of that GC: more scavenges (a smaller new space), or more promoted, or longer pauses
    const young = (mode: Mode) =>
      `${each(mode, (s) => s.gatewayScavenges ?? Number.NaN)} / ${each(mode, (s) => mb(s.gatewayYoungBytes))} / ` +
      `${each(mode, (s) => mb(s.gatewayPromotedBytes))} / ${each(mode, (s) => mb(s.gatewayNewSpaceBytes))}`
    lines.push(
      `  block ${b + 1} (${b % 2 === 1 ? 'baseline' : 'this checkout'}'s gateway started first): ${name} via server / ` +
        `direct ${server.toFixed(3)}, via baseline / direct ${base.toFixed(3)}, server / baseline ${(server / base).toFixed(3)}; ` +
        `gateway CPU / GC ms per run ${gw('via server')} (baseline ${gw('via baseline')}); scavenges / young MB / ` +
        `promoted MB per run / new space MB ${young('via server')} (baseline ${young('via baseline')}); stored events per run ` +
        `${each('via server', (s) => s.storedEvents ?? Number.NaN)} (baseline ${each('via baseline', (s) => s.storedEvents ?? Number.NaN)}); first line ms direct ` +
        `${each('direct', (s) => s.firstLineMs)}, via server ${each('via server', (s) => s.firstLineMs)}, via baseline ` +
        `${each('via baseline', (s) => s.firstLineMs)}; total ms direct ${each('direct', (s) => s.totalMs)}, via server ` +
        `${each('via server', (s) => s.totalMs)}`,
    )
  }
  const geo = Math.exp(between.reduce((a, r) => a + Math.log(r), 0) / between.length)
  lines.push(
    `  ${name}: server / baseline over the ${blocks} blocks: geometric mean ${geo.toFixed(3)}, ` +
      `range ${Math.min(...between).toFixed(3)}-${Math.max(...between).toFixed(3)}`,
  )
  return lines
}

// ---------------------------------------------------------------- 2. concurrency

/** The gateway in this process (concurrency and memory look inside it). */
function inline(g: Gateway): RunningServer {
  if (!g.server) throw new BenchError('this phase needs the gateway in this process')
  return g.server
}

interface Batch {
  wallMs: number
  ok: RelaySample[]
  errors: string[]
  /** The most runs the gateway had running at once, all tenants (sampled every 5 ms); direct: null. */
  peak: number | null
  loopP99Ms: number
  loopMaxMs: number
  cpuMs: number
}

/** Starts `o.runs` agents at once, directly or through the gateway, and waits for all of them. */
async function batch(g: Gateway, o: Options, mode: Mode): Promise<Batch> {
  let peak = 0
  const sampler = setInterval(() => {
    peak = Math.max(peak, inline(g).ctx.tenancy.stats.running)
  }, 5)
  const loop = loopMonitor()
  const args = ['--events', String(o.runEvents)]
  const errors: string[] = []
  const ok: RelaySample[] = []
  const cpu0 = process.cpuUsage()
  const t0 = monoMs()
  const one = async () => {
    if (mode === 'direct') return { sample: await runDirect(g, args, o.runEvents, false), error: null }
    const r = await runViaServer(g, args, false)
    return { sample: r.sample, error: checkServerRun(r, o.runEvents) }
  }
  const settled = await Promise.allSettled(Array.from({ length: o.runs }, one))
  const wallMs = monoMs() - t0
  clearInterval(sampler)
  loop.disable()
  for (const s of settled) {
    if (s.status === 'rejected') errors.push(s.reason instanceof Error ? s.reason.message : String(s.reason))
    else if (s.value.error) errors.push(s.value.error)
    else ok.push(s.value.sample)
  }
  return {
    wallMs,
    ok,
    errors,
    peak: mode === 'direct' ? null : peak,
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
    cpuMs: cpuMsSince(cpu0),
  }
}

async function concurrency(g: Gateway, o: Options): Promise<boolean> {
  const direct = await batch(g, o, 'direct')
  const server = await batch(g, o, 'via server')
  const cols = [direct, server]
  const row = (name: string, f: (b: Batch) => string) => [name, ...cols.map(f)]
  const pick = (b: Batch, f: (s: RelaySample) => number) => b.ok.map(f)
  const lines = (b: Batch) => b.ok.reduce((n, s) => n + s.lines, 0)
  const rows = [
    ['', 'direct', 'via server'],
    row('errors', (b) => String(b.errors.length)),
    row('succeeded with every line', (b) => `${b.ok.length}/${o.runs}`),
    row('peak running at once', (b) => (b.peak === null ? '-' : String(b.peak))),
    row('wall time ms', (b) => f1(b.wallMs)),
    row('total lines/s', (b) => int(perSec(lines(b), b.wallMs))),
    row('CPU of this process per run ms', (b) => f1(b.cpuMs / o.runs)),
    row('spawn() blocked the loop, ms in total', (b) =>
      b === direct ? f1(b.ok.reduce((n, s) => n + (s.spawnCallMs ?? 0), 0)) : '-',
    ),
    row('per run: first line ms p50 / p99', (b) => {
      const first = pick(b, (s) => s.firstLineMs)
      return `${f1(median(first))} / ${f1(percentile(first, 99))}`
    }),
    row('per run: total ms p50 / max', (b) => {
      const total = pick(b, (s) => s.totalMs)
      return `${f1(median(total))} / ${f1(Math.max(...total))}`
    }),
    row('line latency ms p50 / p99', (b) => {
      const latency = b.ok.flatMap((s) => s.latency)
      return `${f2(percentile(latency, 50))} / ${f2(percentile(latency, 99))}`
    }),
    row('stored events per run (median)', (b) =>
      b === direct ? '-' : int(median(pick(b, (s) => s.storedEvents ?? Number.NaN))),
    ),
    row('event-loop delay ms p99 / max', (b) => `${f1(b.loopP99Ms)} / ${f1(b.loopMaxMs)}`),
  ]
  console.log(
    `\n## 2. Concurrency: ${o.runs} runs of ${o.runEvents} lines at once (via server: one SSE connection each)\n`,
  )
  console.log(markdownTable(rows, [false, true, true]))
  for (const [mode, b] of [
    ['direct', direct],
    ['via server', server],
  ] as const)
    for (const e of b.errors.slice(0, 10)) console.log(`error (${mode}): ${e}`)
  return direct.errors.length === 0 && server.errors.length === 0
}

// ---------------------------------------------------------------- 3. memory per SSE connection

interface Mem {
  rss: number
  heapTotal: number
  heapUsed: number
  external: number
  connections: number
  /** The kernel's TCP sockets in use and their memory in bytes, machine-wide (/proc/net/sockstat), or null. */
  tcp: { inuse: number; memBytes: number } | null
}

/** /proc/net/sockstat's TCP line: sockets in use and `mem` (pages of socket buffers), for the whole machine. */
function tcpSockstat(): Mem['tcp'] {
  try {
    const line = readFileSync('/proc/net/sockstat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('TCP:'))
    const field = (name: string) => Number(new RegExp(`\\b${name} (\\d+)`).exec(line ?? '')?.[1])
    const inuse = field('inuse')
    const pages = field('mem')
    if (!Number.isFinite(inuse) || !Number.isFinite(pages)) return null
    return { inuse, memBytes: pages * 4096 }
  } catch {
    return null
  }
}

async function measure(g: Gateway, gc: (() => void) | null): Promise<Mem> {
  for (let i = 0; i < 3; i++) {
    gc?.()
    await sleep(20)
  }
  const m = process.memoryUsage()
  const connections = await new Promise<number>((resolve) =>
    inline(g).app.server.getConnections((err, n) => resolve(err ? -1 : n)),
  )
  return {
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    connections,
    tcp: tcpSockstat(),
  }
}

/** Reads JSON lines from the subscriber process until `want` matches one. */
function nextMessage(
  lines: AsyncIterator<string>,
  want: (m: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  return (async () => {
    for (let r = await lines.next(); !r.done; r = await lines.next()) {
      const m = JSON.parse(r.value) as Record<string, unknown>
      if (m.error) throw new BenchError(`subscribers: ${m.error}`)
      if (want(m)) return m
    }
    throw new BenchError('subscribers: ended early')
  })()
}

/** Starts bench/sse-subscribers.mjs with `k` connections to `url`; resolves once each got an event. */
async function openSubscribers(g: Gateway, url: string, k: number, stall = false) {
  const child = spawn(process.execPath, [subscriberScript, url, String(k), ...(stall ? ['stall'] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  g.children.add(child)
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const t0 = monoMs()
  // This process's CPU (the gateway's, inline) at each progress report: does a connect cost more with more open?
  const steps: { ready: number; ms: number; cpuMs: number }[] = []
  const cpu0 = process.cpuUsage()
  const cpuMs = () => {
    const c = process.cpuUsage(cpu0)
    return (c.user + c.system) / 1000
  }
  const ready = await nextMessage(lines, (m) => {
    if (typeof m.progress === 'number') steps.push({ ready: m.progress, ms: monoMs() - t0, cpuMs: cpuMs() })
    return m.ready !== undefined
  })
  steps.push({ ready: k, ms: monoMs() - t0, cpuMs: cpuMs() })
  return {
    ready,
    connectMs: monoMs() - t0,
    steps,
    /** Waits until every connection saw event `seq`: how many saw each event from their first through it. */
    check(seq: number) {
      child.stdin!.write(`check ${seq}\n`)
      return nextMessage(lines, (m) => m.checked !== undefined)
    },
    /** Closes every connection (the process exits); resolves with its last report. */
    async close() {
      child.stdin!.end()
      const closed = await nextMessage(lines, (m) => m.closed !== undefined)
      await exited
      g.children.delete(child)
      return closed
    },
  }
}

/**
 * The stalled subscribers' run: a line every 100 ms while they connect (the first 15 s), then 4 KB lines, 10 every
 * 20 ms (~2 MB/s) for `stalledWriteMs`, then quiet again (a long run: the subscribers stay open, their streams full).
 */
const stalledWriteMs = 10_000
const stalledArgs = [
  '--slow',
  '--events',
  '100000',
  '--fast-after',
  '15000',
  '--fast-for',
  String(stalledWriteMs),
]

/** The soft limit on open files of this process (Linux: /proc/self/limits), or null if unknown. */
function openFilesLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = line ? Number(line.split(/\s{2,}/)[1]) : Number.NaN
    return Number.isFinite(soft) ? soft : null
  } catch {
    return null
  }
}

async function memory(g: Gateway, o: Options): Promise<boolean> {
  // The gateway here holds a socket per subscriber (the subscribers' process as many): Node cannot raise its own
  // limit, the shell that starts the bench can (`ulimit -n 20000`, up to the hard limit `ulimit -Hn`).
  const files = openFilesLimit()
  if (files !== null && o.subscribers + 200 > files)
    throw new BenchError(
      `${o.subscribers} subscribers need more open files than this process may hold (${files}): ` +
        `run \`ulimit -n ${o.subscribers + 1000}\` (at most \`ulimit -Hn\`) in the shell first`,
    )
  const { gc, how } = findGc()
  const url = g.url
  const created = await fetch(`${url}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      agent: 'cli',
      command: {
        cli: 'node',
        // thousands of subscribers: a line a second (not ten), so the fan-out does not starve the connects
        args: o.stalled
          ? [agentScript, ...stalledArgs]
          : o.lineInterval !== null
            ? [agentScript, '--slow', '--interval', String(o.lineInterval), '--events', '100000']
            : o.subscribers > 1000
              ? [agentScript, '--slow', '--interval', '1000', '--events', '100000']
              : [agentScript, '--slow', '--events', '200'],
      },
    }),
  })
  const run = (await created.json()) as { id: string }
  if (created.status !== 202) throw new BenchError(`POST /v1/runs (slow): HTTP ${created.status}`)
  const lastSeq = async () =>
    (await (await fetch(`${url}/v1/runs/${run.id}`)).json()) as { lastSeq: number; status: string }
  // run.queued, run.started and a few lines stored, then let the event loop settle.
  const deadline = monoMs() + 10_000
  // run.queued, run.started and the first line come at once; a quiet run's next lines may be minutes away
  const firstSeqs = o.lineInterval !== null && o.lineInterval > 1000 ? 3 : 5
  while ((await lastSeq()).lastSeq < firstSeqs) {
    if (monoMs() > deadline) throw new BenchError('the slow run wrote nothing within 10 s')
    await sleep(50)
  }
  // Warm-up: a few subscribers come and go first, so code compiled on the first connection does not count.
  const eventsUrl = `${url}/v1/runs/${run.id}/events`
  const warm = await openSubscribers(g, eventsUrl, Math.min(20, o.subscribers))
  await sleep(300)
  await warm.close()
  await sleep(300)
  const before = await measure(g, gc)
  const snapshot = (name: string) => {
    if (!o.heapSnapshots) return
    const file = v8.writeHeapSnapshot(path.join(o.heapSnapshots, `${name}.heapsnapshot`))
    console.log(`heap snapshot: ${file}`)
  }
  snapshot('before')

  // From the last stored event on (?after=): each connection gets one stored event, then the live ones, so
  // thousands of connections do not each replay the run's whole history while they connect.
  const subs = await openSubscribers(
    g,
    `${eventsUrl}?after=${(await lastSeq()).lastSeq - 1}`,
    o.subscribers,
    o.stalled,
  )
  // A second of live events (about 10 lines) fanned out to every subscriber; stalled, the run's fast part (10 s of
  // ~2 MB/s) and a few seconds more, so every stream holds what the kernel and the gateway let it hold.
  await sleep(o.stalled ? stalledWriteMs + 15_000 : 1000)
  const after = await measure(g, gc)
  snapshot(`with-${o.subscribers}${o.stalled ? '-stalled' : ''}`)
  const during = await lastSeq()
  // Reading subscribers: did every one get every event from the one it started at through `during`?
  const checked = o.stalled ? null : await subs.check(during.lastSeq)
  // Closing them: the gateway's CPU until its connections are back to what they were (each subscription's end)
  const closeCpu0 = process.cpuUsage()
  const closeT0 = monoMs()
  const closed = await subs.close()
  const openNow = () =>
    new Promise<number>((resolve) => inline(g).app.server.getConnections((err, n) => resolve(err ? -1 : n)))
  while ((await openNow()) > before.connections && monoMs() - closeT0 < 60_000) await sleep(20)
  const closeWallMs = monoMs() - closeT0
  const closeCpu = process.cpuUsage(closeCpu0)
  const closeCpuMs = (closeCpu.user + closeCpu.system) / 1000
  await sleep(300)
  const released = await measure(g, gc)

  const cancel = await fetch(`${url}/v1/runs/${run.id}/cancel`, { method: 'POST' })
  const cancelled = (await cancel.json()) as { status: string; lastSeq: number }

  const k = o.subscribers
  const kb = (n: number) => (n / 1024).toFixed(1)
  const mb = (n: number) => (n / 1024 ** 2).toFixed(1)
  const rows = [
    ['', 'before', `with ${k} subscribers`, 'after closing them', 'per connection KB'],
    ['rss MB', mb(before.rss), mb(after.rss), mb(released.rss), kb((after.rss - before.rss) / k)],
    [
      'heapTotal MB',
      mb(before.heapTotal),
      mb(after.heapTotal),
      mb(released.heapTotal),
      kb((after.heapTotal - before.heapTotal) / k),
    ],
    [
      'heapUsed MB',
      mb(before.heapUsed),
      mb(after.heapUsed),
      mb(released.heapUsed),
      kb((after.heapUsed - before.heapUsed) / k),
    ],
    [
      'external MB',
      mb(before.external),
      mb(after.external),
      mb(released.external),
      kb((after.external - before.external) / k),
    ],
    [
      'open server connections',
      String(before.connections),
      String(after.connections),
      String(released.connections),
      '-',
    ],
  ]
  // Both ends of each connection are on this machine (loopback): the kernel's figure is both sockets' buffers.
  const [b, a, r] = [before.tcp, after.tcp, released.tcp]
  if (b && a && r) {
    rows.push(
      ['kernel TCP sockets in use (machine)', String(b.inuse), String(a.inuse), String(r.inuse), '-'],
      [
        'kernel TCP socket memory MB (machine, both ends)',
        mb(b.memBytes),
        mb(a.memBytes),
        mb(r.memBytes),
        kb((a.memBytes - b.memBytes) / k),
      ],
    )
  }
  console.log(`\n## 3. Memory per open SSE connection (${k} subscribers to one running run)\n`)
  console.log(markdownTable(rows, [false, true, true, true, true]))
  console.log(
    `\ngc: ${how}; ${k} subscribers connected and got their first event in ${f1(subs.connectMs)} ms; ` +
      `${subs.ready.frames} frames at ready, ${closed.frames} when closed (run at seq ${during.lastSeq} by then)`,
  )
  // CPU of this process (the gateway) per connect, block by block: flat if a connect's cost does not grow with the
  // connections already open (the run's lines fanned out to them meanwhile are in it too: see the frames)
  if (subs.steps.length > 1) {
    const blockRows = [['connections', 'wall ms', 'gateway CPU ms', 'CPU ms per connect']]
    let prev = { ready: 0, ms: 0, cpuMs: 0 }
    for (const step of subs.steps) {
      const n = step.ready - prev.ready
      blockRows.push([
        `${prev.ready + 1}-${step.ready}`,
        f1(step.ms - prev.ms),
        f1(step.cpuMs - prev.cpuMs),
        (n > 0 ? (step.cpuMs - prev.cpuMs) / n : 0).toFixed(2),
      ])
      prev = step
    }
    console.log(`\n${markdownTable(blockRows, [false, true, true, true])}`)
  }
  console.log(
    `closing them: ${f1(closeWallMs)} ms until the gateway's connections were back to ${before.connections}, ` +
      `gateway CPU ${f1(closeCpuMs)} ms (${((closeCpuMs / k) * 1000).toFixed(0)} µs per connection)`,
  )
  if (checked)
    console.log(
      `every event: ${checked.complete}/${k} subscribers got each event from their first through seq ` +
        `${checked.checked} (behind: ${checked.behind}, with a gap or repeat: ${checked.gaps}, ` +
        `wrong first event: ${checked.wrongStart})`,
    )
  console.log(`cancel: HTTP ${cancel.status}, status ${cancelled.status}, ${cancelled.lastSeq} events stored`)
  return (
    // (the bench's own idle keep-alive connections counted in `before` may have closed meanwhile)
    cancel.status === 200 &&
    cancelled.status === 'cancelled' &&
    after.connections >= k &&
    (checked === null || checked.complete === k)
  )
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const o = parseOptions()
  const scope = benchScope('agw-relay-bench-')
  const stop = scope.checkStop
  const children = new Set<ChildProcess>()
  let server: RunningServer | undefined
  let ok = true
  try {
    const settings = () =>
      gatewayEnv(null, {
        CLI_LIST: 'node',
        MAX_CONCURRENT_RUNS: String(Math.max(100, o.runs)),
        MAX_QUEUED_RUNS: String(Math.max(100, o.runs)),
        // the memory phase's run must outlast thousands of connects on a loaded machine
        TIMEOUT_SECONDS: '3600',
        // the server refuses connections past MAX_CONNECTIONS (default 1,000) with 429: room for every subscriber
        // and every concurrent run's stream, plus the bench's own requests
        MAX_CONNECTIONS: String(Math.max(1000, o.subscribers + o.runs + 100)),
      })
    const inlineRelay = o.gateway === 'inline'
    let g: Gateway | undefined
    if (inlineRelay || o.only.has('concurrency') || o.only.has('memory')) {
      const { env, dir, workspace } = settings()
      server = await startServer({ env, cwd: dir, logger: false })
      const node = server.ctx.registry.cli().resolve('node')
      if (!node) throw new BenchError('node is not on PATH')
      g = { url: server.url, server, remote: null, env, node, workspace, children }
    }
    // the relay's gateways, each in a process of its own with its own data directory (two never share a database)
    const startRemote = async (baseline: string | null) => {
      const { env, dir, workspace } = settings()
      const remote = await GatewayProcess.start(
        baseline ? { ...env, AGW_BENCH_GATEWAY_ROOT: baseline } : env,
        dir,
        o.gatewayNodeArgs,
        o.trace,
        o.built,
      )
      children.add(remote.child)
      return { remote, env, workspace }
    }
    const remoteGateways: RelayGateways = {
      async open(baselineFirst) {
        const other = o.baseline && baselineFirst ? await startRemote(o.baseline) : undefined
        const { remote, env, workspace } = await startRemote(null)
        const baseline = o.baseline ? (other ?? (await startRemote(o.baseline))) : undefined
        if (!remote.node) throw new BenchError('node is not on PATH')
        return {
          url: remote.url,
          server: null,
          remote,
          env,
          node: remote.node,
          workspace,
          children,
          trace: o.trace,
          ...(baseline ? { baseline: { url: baseline.remote.url, remote: baseline.remote } } : {}),
        }
      },
      async close(gw) {
        await gw.remote?.close()
        await gw.baseline?.remote.close()
      },
    }
    const inlineGateways: RelayGateways = { open: async () => g!, close: async () => {} }

    console.log('agent-gateway benchmark: event relay, concurrency and SSE memory (/v1/runs)\n')
    console.log(machineLines().join('\n'))
    console.log(loadLine('at the start'))
    console.log(
      `agent:   ${g?.node ?? "node (the one on the gateway's PATH)"} ${path.relative(process.cwd(), agentScript)}`,
    )
    if (o.only.has('relay'))
      console.log(
        `gateway: ${inlineRelay ? 'in this process (the client shares its event loop)' : `its own process (${path.relative(process.cwd(), gatewayScript)}${o.built ? ', dist/' : ''}) for the relay`}` +
          (o.baseline ? `; baseline: ${o.baseline} (${gitHead(o.baseline)}), the same way` : '') +
          (o.blocks > 1
            ? `; ${o.blocks} blocks, both gateways started afresh in each, the first alternating`
            : ''),
      )

    if (o.only.has('relay')) {
      const r = await relay(inlineRelay ? inlineGateways : remoteGateways, o, stop)
      reportRelay(o, r)
      if (!inlineRelay) await remoteGateways.close(r.last)
      if (o.trace)
        for (const w of r.workloads) {
          const samples = r.results.get(w.name)!
          const traced = (mode: Mode) => samples[mode].flatMap((s) => (s.trace ? [s.trace] : []))
          const runs = {
            direct: traced('direct'),
            'via server': traced('via server'),
            'via baseline': traced('via baseline'),
          }
          reportAttribution(w.name, runs)
          if (o.traceOut)
            writeFileSync(
              o.traceOut.replace(/(\.json)?$/, `-${w.name}.json`),
              JSON.stringify({ ...runs, pids: tracedPids(r.last) }),
            )
        }
    }
    stop()
    if (o.only.has('concurrency')) ok = (await concurrency(g!, o)) && ok
    stop()
    if (o.only.has('memory')) ok = (await memory(g!, o)) && ok
    console.log(`\n${loadLine('at the end')}`)
    if (!ok) throw new BenchError('some checks failed (see above)')
  } finally {
    for (const child of children) killGroupOrChild(child)
    // Nothing runs by now unless a check failed: end any leftover run at once instead of after the grace.
    await server?.close(0)
    scope.close()
  }
}

/** The processes whose scheduling a trace is joined with: this client and the gateways. */
function tracedPids(g: Gateway) {
  return { client: process.pid, gateway: g.remote?.child.pid, baseline: g.baseline?.remote.child.pid }
}

function gitHead(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return 'not a git checkout'
  }
}

/** Direct agents lead their own group; the subscriber and gateway processes do not. */
function killGroupOrChild(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  if (child.spawnargs.includes(subscriberScript) || child.spawnargs.includes(gatewayScript))
    child.kill('SIGKILL')
  else killGroup(child)
}

runBench(main)
