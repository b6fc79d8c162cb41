/**
 * The gateway's own CPU per warm session turn, without codex competing for the cores
 * (`npx tsx bench/turn-cpu.ts`).
 *
 * bench/session-turns.ts compares a turn through the gateway with the same turn on a direct app-server, both with
 * the real codex: on 2 cores codex's own work (about 25 ms of CPU before it asks the model) competes with the
 * gateway's, so the added wall time mixes the gateway's critical path with that competition. Here the app-server is
 * bench/replay-app-server/app-server.mjs, which replays a recorded codex 0.169.0 turn (same messages, sizes and
 * order, one notification per write, 1 ms apart) at next to no CPU. In this one process:
 *   turn    POST /v1/sessions/:id/turns?wait=true on one session of an in-process gateway; the HTTP client (undici's
 *           fetch) runs on a worker thread of its own, so its CPU is told apart from the gateway's
 *   direct  turn/start on a direct AppServerProcess client of its own replaying app-server, until turn/completed
 * Windows of `--turns` turns of one mode, alternating turn, direct, turn, ... (`--rounds` of each); the process's
 * CPU (user + system, process.cpuUsage) per turn of each window, and the client thread's (/proc/self/task/TID/stat,
 * in clock ticks of 10 ms: summed over all windows). Prints each mode's median CPU per turn, the difference per round
 * (turn - direct: what the gateway and its HTTP client spend more per turn), the gateway's own CPU per turn (the
 * process's less its client thread's), the wall ms per turn, and the turn's events stored. docs/benchmarks.md
 * explains the output.
 *
 * Also the gateway's Store calls per turn in the turn windows (outermost calls, as bench/session-turns.ts counts) and
 * the ms spent in them (the synchronous SQLite store works inside the call: about its CPU).
 *
 * Usage: npx tsx bench/turn-cpu.ts [--turns N] [--rounds R] [--warmup W] [--log] [--built] [--env NAME=value ...]
 *          [--cpu-prof <file>] [--cpu-prof-interval <µs>]
 *   --turns per window, default 100; --rounds windows of each mode, default 5; --warmup turns of each mode first,
 *   default 100 (JIT tiers settle); --log: the gateway logs as `npm start` does (LOG_LEVEL info, JSON lines; into a
 *   sink that drops them, so their encoding counts, not a terminal's or a file's write), not at all otherwise;
 *   --env (repeatable) a setting of the gateway (`--env MODEL_KEY_PROXY=false`: the key proxy off).
 *   --built: the gateway (and the direct client) from the built dist/ (`npm run build` first), what `npm start` runs,
 *   instead of src/ through tsx: tsx compiles with esbuild's keepNames, which adds a `__name` call to every function
 *   and class made at run time, so from src/ the gateway spends more CPU per turn than the built code does
 *   (docs/benchmarks.md, "Issue 14, session 15").
 *   --cpu-prof: a V8 sampling profile of this thread (the gateway; the client has its own thread) over the turn
 *   windows only, one file per round (<file>-1.cpuprofile, ...: for Chrome's DevTools or
 *   bench/cpu-profile-summary.ts); the profiler's own cost is in the CPU figures then. --cpu-prof-interval its sampling interval, default 50 µs.
 * Not a test: exits 0 when every turn ended as recorded and nothing was left running, 1 otherwise.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import inspector from 'node:inspector/promises'
import os from 'node:os'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import type { AppServerProcess } from '../src/agents/codex-app-server/app-server-process.js'
import type * as ServerModule from '../src/http/server.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { listProcesses } from '../test/support/processes.js'
import { codeRan, gatewayModules } from './gateway-modules.js'
import { loadLine, printMachine } from './machine.js'
import { BenchError, benchArgs, envOption, intOption } from './options.js'
import { minorFaults } from './page-faults.js'
import { markdownTable, median } from './stats.js'
import { countStoreCalls } from './store-calls.js'
import { turnClientThread } from './turn-client-thread.js'

const replayAppServer = path.join(import.meta.dirname, 'replay-app-server', 'app-server.mjs')
/** The recorded turn's answer. */
const answer = 'ok'
const json = { 'content-type': 'application/json' }

interface Window {
  cpuMsPerTurn: number
  wallMsPerTurn: number
  /** The HTTP client thread's CPU ms in the window (turn windows). */
  clientCpuMs: number
  /** Minor page faults of the whole process per turn (new memory touched, or written after a fork). */
  faultsPerTurn: number
}

function options() {
  const { values } = benchArgs({
    options: {
      turns: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      log: { type: 'boolean', default: false },
      env: { type: 'string', multiple: true },
      built: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'cpu-prof-interval': { type: 'string' },
    },
  })
  const env = envOption(values.env)
  return {
    turns: intOption(values.turns, 100, '--turns'),
    rounds: intOption(values.rounds, 5, '--rounds'),
    warmup: intOption(values.warmup, 100, '--warmup', 0),
    log: values.log === true,
    built: values.built === true,
    env,
    cpuProf: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
    cpuProfIntervalUs: intOption(values['cpu-prof-interval'], 50, '--cpu-prof-interval'),
  }
}

const clientThread = turnClientThread(answer)

/** A thread of this process's CPU ms so far (/proc schedstat: ns on the CPU, not 10 ms ticks). */
function taskCpuMs(tid: number | string): number {
  return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6
}

/** Each thread of this process's CPU ms so far: the main thread as "main", the others by name (V8's and libuv's
 * threads are all "node" on Node 20; names ending in a number grouped as #). */
function threadCpuMs(): Map<string, number> {
  const byName = new Map<string, number>()
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string
    let ms: number
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      ms = taskCpuMs(tid)
    } catch {
      continue // the thread ended
    }
    const name =
      Number(tid) === process.pid
        ? 'main'
        : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '#')
    byName.set(name, (byName.get(name) ?? 0) + ms)
  }
  return byName
}

interface HttpClient {
  turn: () => Promise<void>
  /** The client thread's CPU ms so far. */
  cpuMs: () => number
  close: () => Promise<number>
}

async function httpClient(url: string, sessionId: string): Promise<HttpClient> {
  const worker = new Worker(clientThread, { eval: true })
  const tid = await new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { tid: number }) => resolve(m.tid))
    worker.once('error', reject)
  })
  return {
    turn: () =>
      new Promise<void>((resolve, reject) => {
        worker.once('message', (m: { ok?: boolean; error?: string }) =>
          m.ok ? resolve() : reject(new BenchError(`turn: ${m.error}`)),
        )
        worker.postMessage({ url, sessionId })
      }),
    cpuMs: () => taskCpuMs(tid),
    close: () => worker.terminate(),
  }
}

/** A direct app-server client doing as little as a client can: turn/start, then wait for turn/completed. */
function directClient(proc: AppServerProcess, threadId: string): () => Promise<void> {
  let completed: ((status: string | undefined) => void) | undefined
  proc.onNotification((method, params) => {
    if (method !== 'turn/completed' || !completed) return
    const p = params as { threadId?: string; turn?: { status?: string } } | null
    if (p?.threadId === threadId) completed(p.turn?.status)
  })
  return async () => {
    const done = new Promise<string | undefined>((resolve) => {
      completed = resolve
    })
    await proc.request('turn/start', {
      threadId,
      input: [{ type: 'text', text: 'Say ok.', text_elements: [] }],
    })
    const status = await done
    completed = undefined
    if (status !== 'completed') throw new BenchError(`direct: the turn ended ${status}`)
  }
}

async function window(turns: number, turn: () => Promise<void>, clientCpuMs = () => 0): Promise<Window> {
  const client0 = clientCpuMs()
  const cpu0 = process.cpuUsage()
  const faults0 = minorFaults()
  const t0 = performance.now()
  for (let i = 0; i < turns; i++) await turn()
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return {
    cpuMsPerTurn: (cpu.user + cpu.system) / 1000 / turns,
    wallMsPerTurn: wall / turns,
    clientCpuMs: clientCpuMs() - client0,
    faultsPerTurn: (minorFaults() - faults0) / turns,
  }
}

async function main(): Promise<void> {
  const o = options()
  const { startServer, AppServerProcess, threadParams, threadSettings } = await gatewayModules(o.built)
  printMachine()
  console.log(loadLine('at the start'))
  console.log(
    `runs:    ${o.warmup} warm-up turns of each mode, then ${o.rounds} windows of ${o.turns} turns of each, alternating; the gateway ${o.log ? 'logs at info (into a sink that drops the lines)' : 'does not log'}, runs from ${codeRan(o.built)}`,
  )
  const { env, dir } = gatewayEnv(null, {
    CODEX_PATH: replayAppServer,
    CODEX_WARM_RUNS: 'false',
    // never asked: the replaying app-server answers by itself
    CODEX_API_BASE_URL: 'http://127.0.0.1:9/v1',
    CODEX_API_KEY: 'unused',
    ...o.env,
  })
  let server: ServerModule.RunningServer | undefined
  let direct: AppServerProcess | undefined
  let client: HttpClient | undefined
  try {
    server = await startServer({
      env: { ...env, LOG_LEVEL: o.log ? 'info' : 'silent', LOG_FORMAT: 'json' },
      cwd: dir,
      ...(o.log ? { logStream: { write: () => {} } } : { logger: false }),
    })
    const created = await fetch(`${server.url}/v1/sessions`, { method: 'POST', headers: json, body: '{}' })
    const session = (await created.json()) as { id: string; cwd: string }
    if (created.status !== 201) throw new BenchError(`POST /v1/sessions: ${JSON.stringify(session)}`)
    const config = server.ctx.config
    direct = new AppServerProcess({
      config,
      serverEnv: env,
      clientName: config.CODEX_CLIENT_NAME,
      cwd: os.tmpdir(),
      requestTimeoutMs: 30_000,
    })
    const thread = (await direct.request(
      'thread/start',
      threadParams(threadSettings({ cwd: session.cwd }, config)),
    )) as {
      thread?: { id?: string }
    }
    if (!thread.thread?.id) throw new BenchError(`direct: thread/start answered ${JSON.stringify(thread)}`)
    const url = server.url
    client = await httpClient(url, session.id)
    const modes = { turn: client.turn, direct: directClient(direct, thread.thread.id) }
    for (const run of Object.values(modes)) for (let i = 0; i < o.warmup; i++) await run()
    const windows: Record<keyof typeof modes, Window[]> = { turn: [], direct: [] }
    const storeCalls = countStoreCalls(server.ctx.store as unknown as Record<string, unknown>)
    const profiler = o.cpuProf ? new inspector.Session() : undefined
    profiler?.connect()
    await profiler?.post('Profiler.enable')
    await profiler?.post('Profiler.setSamplingInterval', { interval: o.cpuProfIntervalUs })
    const threadsMs = new Map<string, number>()
    /** Per round: the CPU ms per turn of the threads other than the main thread and the client's. */
    const othersPerTurn: number[] = []
    for (let r = 0; r < o.rounds; r++) {
      storeCalls.counting = true
      await profiler?.post('Profiler.start')
      const threads0 = threadCpuMs()
      windows.turn.push(await window(o.turns, modes.turn, client.cpuMs))
      let othersMs = -windows.turn.at(-1)!.clientCpuMs
      for (const [name, ms] of threadCpuMs()) {
        const spent = ms - (threads0.get(name) ?? 0)
        threadsMs.set(name, (threadsMs.get(name) ?? 0) + spent)
        if (name !== 'main') othersMs += spent
      }
      othersPerTurn.push(othersMs / o.turns)
      if (profiler && o.cpuProf) {
        const { profile } = await profiler.post('Profiler.stop')
        writeFileSync(o.cpuProf.replace(/(\.cpuprofile)?$/, `-${r + 1}.cpuprofile`), JSON.stringify(profile))
      }
      storeCalls.counting = false
      windows.direct.push(await window(o.turns, modes.direct))
    }
    profiler?.disconnect()

    const cpu = (m: keyof typeof modes) => windows[m].map((w) => w.cpuMsPerTurn)
    const wall = (m: keyof typeof modes) => windows[m].map((w) => w.wallMsPerTurn)
    const added = windows.turn.map((w, i) => w.cpuMsPerTurn - windows.direct[i]!.cpuMsPerTurn)
    console.log()
    console.log(
      markdownTable(
        [
          [
            'mode',
            'CPU ms per turn (median)',
            'per window',
            'wall ms per turn (median)',
            'page faults per turn',
          ],
          ...(['turn', 'direct'] as const).map((m) => [
            m,
            median(cpu(m)).toFixed(2),
            cpu(m)
              .map((v) => v.toFixed(2))
              .join(' '),
            median(wall(m)).toFixed(1),
            median(windows[m].map((w) => w.faultsPerTurn)).toFixed(1),
          ]),
        ],
        [false, true, false, true, true],
      ),
    )
    console.log(
      `\nthe gateway and its HTTP client spend per turn: median ${median(added).toFixed(2)} ms of CPU more than the direct client (per round: ${added.map((v) => v.toFixed(2)).join(', ')})`,
    )
    const turnsMeasured = o.turns * o.rounds
    const clientMs = windows.turn.reduce((sum, w) => sum + w.clientCpuMs, 0) / turnsMeasured
    const processMs = windows.turn.reduce((sum, w) => sum + w.cpuMsPerTurn, 0) / o.rounds
    console.log(
      `of the turn's CPU (mean over its windows, ${processMs.toFixed(2)} ms): the HTTP client's thread ${clientMs.toFixed(2)} ms, the gateway ${(processMs - clientMs).toFixed(2)} ms; the direct client ${(windows.direct.reduce((sum, w) => sum + w.cpuMsPerTurn, 0) / o.rounds).toFixed(2)} ms`,
    )
    console.log(
      `the turn windows' CPU per turn by thread (the client's thread in the others): ${[...threadsMs]
        .filter(([, ms]) => ms > 0)
        .sort((a, b) => b[1] - a[1])
        .map(([name, ms]) => `${name} ${(ms / turnsMeasured).toFixed(2)}`)
        .join(', ')}; the threads other than the main thread and the client's, per round: ${othersPerTurn
        .map((ms) => ms.toFixed(2))
        .join(' ')}`,
    )
    const perTurn = [...storeCalls.calls].sort((a, b) => b[1] - a[1])
    console.log(
      `the gateway's store calls per turn: ${(perTurn.reduce((sum, [, n]) => sum + n, 0) / turnsMeasured).toFixed(1)} (${perTurn.map(([name, n]) => `${name} ${(n / turnsMeasured).toFixed(1)}`).join(', ')}), ${(storeCalls.ms / turnsMeasured).toFixed(2)} ms in them`,
    )
    const stored = await fetch(`${url}/v1/sessions/${session.id}`)
    const body = (await stored.json()) as { lastSeq?: number; turns?: unknown[] }
    const turns = body.turns?.length ?? 0
    console.log(
      `the session: ${turns} turns, ${body.lastSeq} events stored (${((body.lastSeq ?? 0) / turns).toFixed(1)} per turn)`,
    )
  } finally {
    await client?.close().catch(() => 0)
    await direct?.close().catch(() => {})
    await server?.close().catch(() => {})
    console.log(loadLine('at the end'))
  }
  const left = listProcesses().filter((p) => p.cmd.includes(replayAppServer))
  if (left.length > 0) throw new BenchError(`left running: ${left.map((p) => p.pid).join(', ')}`)
  console.log('cleanup: the gateway and both replaying app-servers are closed')
}

main().catch((err) => {
  console.error(err instanceof BenchError ? `turn-cpu: ${err.message}` : err)
  process.exitCode = 1
})
