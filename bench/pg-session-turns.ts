/**
 * Warm session turns of many sessions at once, on SQLite and on PostgreSQL, this checkout beside a baseline
 * (`npx tsx bench/pg-session-turns.ts --baseline <dir>`).
 *
 * A turn's own store writes are queued on the session's EventLog (EventLog.commitWith: the turn's row with its
 * state and session.status, the agent's turn id with turn.started, the turn's end with its state, turn.completed
 * and session.status), so they run one after the other inside the log's serial flush of the whole process, between
 * the groups of other sessions' events. On SQLite a commit costs microseconds; on PostgreSQL each is a transaction
 * of several round trips. This bench measures what that does to a node with many concurrent sessions.
 *
 * The agent is bench/replay-app-server/app-server.mjs as CODEX_PATH: it replays a recorded codex 0.169.0 turn (same
 * messages and order, one notification per write, 1 ms apart) at next to no CPU, one thread per session in one
 * process per gateway (as codex app-server does), so what is measured is the gateway and its store, not codex.
 * Per gateway (this checkout's and each --baseline checkout's, all in this process; each on SQLite (its own
 * DATA_DIR) and on PostgreSQL (its own database on one throwaway server from test/support/postgres.ts; fsync and
 * synchronous_commit off, like the tests)), the largest --sessions count of sessions is created (POST /v1/sessions
 * {}). Then, for each store and each count N: --rounds rounds, each one window per checkout (the order of the
 * checkouts rotates per round); in a window N sessions each do --turns warm turns back to back
 * (POST /v1/sessions/:id/turns?wait=true, node:http with a keep-alive connection per session), all N at once.
 * Reported per store, N and checkout: turns/s (median of the windows; and paired per round against the first
 * baseline), the turn's latency p50 and p99 (over every turn of the windows), the events stored per turn (the
 * sessions' lastSeq before and after), the store's outermost calls per turn (bench/store-calls.ts), and the share of
 * the window's wall time the EventLog spent in its serial flush ("log busy": near 100%, the log is the ceiling;
 * since session 17 a flush per lane, busy while any lane is, and "lanes at once" how many flushed at once on average
 * while any did),
 * and on PostgreSQL the transactions the store's pool ran per turn (the event bus's pg_notify included).
 *
 * Usage: npx tsx bench/pg-session-turns.ts [--baseline <dir> ...] [--sessions 1,10,50] [--turns N] [--rounds R]
 *          [--warmup W] [--stores sqlite,postgres] [--pg-latency-ms L] [--variant name:K=V,...] [--built]
 *   --baseline (repeatable) another checkout with node_modules (`git worktree add --detach <dir> <commit>` and
 *     `cp -al node_modules <dir>/`), labelled by its short commit; without it only this checkout runs;
 *   --sessions the counts of concurrent sessions, default 1,10,50; --turns each session's turns per window,
 *     default 10; --rounds windows of each checkout per count, default 3; --warmup turns of every session of every
 *     gateway first, default 3; --stores default sqlite,postgres;
 *   --pg-latency-ms the gateways reach PostgreSQL through bench/delay-proxy.mjs (a process of its own), which holds
 *     every chunk L ms each way (at least: Node's timers): a database 2L ms or more of round trip away, as across a
 *     network (default 0: direct);
 *   --variant (repeatable) this checkout once more, its gateway with these settings on top (`--variant
 *     lanes10:PG_POOL_SIZE=20,PG_EVENT_LOG_LANES=10`), labelled by its name: settings side by side, paired;
 *   --built the gateways from their built dist/ (`npm run build` in each first) instead of src/ through tsx.
 * Not a test: exits 0 when every turn ended completed with the replayed answer and nothing was left running, 1
 * otherwise.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import pg from 'pg'
import type * as ServerModule from '../src/http/server.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { startPostgres, type TestPostgres } from '../test/support/postgres.js'
import { listProcesses } from '../test/support/processes.js'
import { benchScope, runBench } from './bench-scope.js'
import { codeRan, gatewayLoader, thisCheckout } from './gateway-modules.js'
import { type JsonClient, jsonClient } from './json-client.js'
import { loadLine, machineLines } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median, percentile } from './stats.js'
import { countStoreCalls } from './store-calls.js'

const replayAppServer = path.join(import.meta.dirname, 'replay-app-server', 'app-server.mjs')
const delayProxy = path.join(import.meta.dirname, 'delay-proxy.mjs')
/** The recorded turn's answer. */
const answer = 'ok'
const turnTimeoutMs = 60_000

type StoreKind = 'sqlite' | 'postgres'

/** A checkout whose gateway runs: this one, or a --baseline. */
interface Side {
  /** `this`, or the baseline's short commit. */
  label: string
  root: string
  /** Settings of its gateway on top of the bench's (--variant). */
  env?: Record<string, string>
}

interface Options {
  baselines: string[]
  sessions: number[]
  turns: number
  rounds: number
  warmup: number
  stores: StoreKind[]
  pgLatencyMs: number
  variants: { name: string; env: Record<string, string> }[]
  built: boolean
}

function options(): Options {
  const { values } = benchArgs({
    options: {
      baseline: { type: 'string', multiple: true },
      sessions: { type: 'string' },
      turns: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      stores: { type: 'string' },
      'pg-latency-ms': { type: 'string' },
      variant: { type: 'string', multiple: true },
      built: { type: 'boolean', default: false },
    },
  })
  const sessions = (values.sessions ?? '1,10,50').split(',').map((n) => intOption(n, 1, 'sessions'))
  const stores = (values.stores ?? 'sqlite,postgres').split(',') as StoreKind[]
  for (const s of stores)
    if (s !== 'sqlite' && s !== 'postgres') throw new BenchError(`--stores: unknown store "${s}"`)
  return {
    baselines: (values.baseline ?? []).map((dir) => path.resolve(dir)),
    sessions,
    turns: intOption(values.turns, 10, 'turns'),
    rounds: intOption(values.rounds, 3, 'rounds'),
    warmup: intOption(values.warmup, 3, 'warmup', 0),
    stores,
    pgLatencyMs: intOption(values['pg-latency-ms'], 0, 'pg-latency-ms', 0),
    variants: (values.variant ?? []).map(variantOption),
    built: values.built === true,
  }
}

/** `name:K=V,K=V`: a variant of this checkout's gateway with these settings. */
function variantOption(text: string): { name: string; env: Record<string, string> } {
  const [name, settings] = [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)]
  if (!text.includes(':') || !/^[\w.-]+$/.test(name))
    throw new BenchError(`--variant: expected name:K=V,..., got "${text}"`)
  const env: Record<string, string> = {}
  for (const pair of settings.split(',')) {
    const eq = pair.indexOf('=')
    if (eq < 1) throw new BenchError(`--variant ${name}: expected K=V, got "${pair}"`)
    env[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return { name, env }
}

/** A gateway in this process with its sessions, each with a keep-alive HTTP client of its own. */
interface Gateway {
  side: Side
  store: StoreKind
  server: ServerModule.RunningServer
  sessions: { id: string; client: JsonClient }[]
  storeCalls: ReturnType<typeof countStoreCalls>
  /** Wall ms the gateway's EventLog spent in its serial flush so far (any of its lanes). */
  logBusyMs: () => number
  /** The same summed over the log's lanes. */
  laneBusyMs: () => number
  /** PostgreSQL transactions the gateway's store began so far (undefined on SQLite). */
  pgTransactions: () => number | undefined
}

interface Window {
  turnsPerSecond: number
  latencies: number[]
  eventsPerTurn: number
  storeCallsPerTurn: number
  /** The share of the window's wall time the EventLog was flushing (committing, one thing at a time per lane). */
  logBusy: number
  /** Lanes flushing at once, on average while any was (1 with one lane). */
  lanesBusy: number
  pgTransactionsPerTurn: number | undefined
}

/**
 * Counts the transactions a PostgresStore's pool runs: each takes a connection (a BEGIN ... COMMIT, or one statement
 * that commits by itself, as the event bus's pg_notify); the pool's own `query` takes one through `connect` too.
 */
function countTransactions(store: unknown): () => number | undefined {
  const pool = (store as { pool?: { connect: (...args: unknown[]) => unknown } }).pool
  if (!pool) return () => undefined
  const connect = pool.connect
  let n = 0
  pool.connect = function (this: unknown, ...args: unknown[]) {
    n++
    return connect.apply(this, args)
  }
  return () => n
}

/**
 * Times the log's serial flush (a private method, the same in every checkout since session 14; since session 17 one
 * per lane, `flush(lane)` with `lane.flushing`): while it runs, the log commits one transaction after the other;
 * the share of the wall time it runs is how close the log is to its ceiling. `busy`: wall ms any lane was flushing;
 * `laneMs`: the sum over the lanes (equal to `busy` with one lane; over the wall time, how many lanes ran at once).
 */
function timeFlushes(log: unknown): { busy: () => number; laneMs: () => number } {
  type Flushing = { flushing: boolean }
  const l = log as { flush: (lane?: Flushing) => Promise<void> } & Flushing
  const flush = l.flush
  if (typeof flush !== 'function') throw new BenchError('the EventLog has no flush method to time')
  let busy = 0
  let laneMs = 0
  let running = 0
  let since = 0
  l.flush = function (this: typeof l, lane?: Flushing) {
    if ((lane ?? this).flushing) return flush.call(this, lane)
    const t0 = performance.now()
    if (running++ === 0) since = t0
    return flush.call(this, lane).finally(() => {
      const t1 = performance.now()
      laneMs += t1 - t0
      if (--running === 0) busy += t1 - since
    })
  }
  return { busy: () => busy, laneMs: () => laneMs }
}

async function startGateway(
  side: Side,
  store: StoreKind,
  startServer: typeof ServerModule.startServer,
  pg: TestPostgres | undefined,
  sessions: number,
  /** The port of the delaying proxy in front of `pg`, if any. */
  pgProxyPort: number | undefined,
): Promise<Gateway> {
  const database = store === 'postgres' ? await pg!.createDatabase() : undefined
  const url = database && pgProxyPort ? database.replace(/:\d+\//, `:${pgProxyPort}/`) : database
  const { env, dir } = gatewayEnv(null, {
    CODEX_PATH: replayAppServer,
    CODEX_WARM_RUNS: 'false',
    // never asked: the replaying app-server answers by itself
    CODEX_API_BASE_URL: 'http://127.0.0.1:9/v1',
    CODEX_API_KEY: 'unused',
    ...(url ? { DATABASE_URL: url } : {}),
    ...side.env,
  })
  const server = await startServer({ env, cwd: dir, logger: false })
  // the session manager's log is the gateway's one EventLog
  const flushes = timeFlushes((server.ctx.sessions as unknown as { log: unknown }).log)
  const gateway: Gateway = {
    side,
    store,
    server,
    sessions: [],
    storeCalls: countStoreCalls(server.ctx.store as unknown as Record<string, unknown>),
    logBusyMs: flushes.busy,
    laneBusyMs: flushes.laneMs,
    pgTransactions: countTransactions(server.ctx.store),
  }
  try {
    for (let i = 0; i < sessions; i++) {
      const client = jsonClient('http')
      gateway.sessions.push({ id: '', client })
      const res = await client.post(`${server.url}/v1/sessions`, '{}', turnTimeoutMs)
      const body = res.body as { id?: string }
      if (res.status !== 201 || !body.id)
        throw new BenchError(
          `${side.label}/${store}: POST /v1/sessions answered ${res.status} ${JSON.stringify(body)}`,
        )
      gateway.sessions[i]!.id = body.id
    }
  } catch (err) {
    await closeGateway(gateway)
    throw err
  }
  return gateway
}

async function closeGateway(g: Gateway): Promise<void> {
  for (const s of g.sessions) s.client.close()
  await g.server.close().catch(() => {})
}

async function turn(g: Gateway, session: Gateway['sessions'][number]): Promise<void> {
  const res = await session.client.post(
    `${g.server.url}/v1/sessions/${session.id}/turns?wait=true`,
    JSON.stringify({ input: 'Say ok.' }),
    turnTimeoutMs,
  )
  const body = res.body as { status?: string; finalResponse?: string }
  if (res.status !== 200 || body.status !== 'completed' || body.finalResponse !== answer)
    throw new BenchError(`${g.side.label}/${g.store}: turn answered ${res.status} ${JSON.stringify(body)}`)
}

/** Every event the first `n` sessions of `g` have stored. */
async function eventsStored(g: Gateway, n: number): Promise<number> {
  let sum = 0
  for (const s of g.sessions.slice(0, n)) {
    const res = await fetch(`${g.server.url}/v1/sessions/${s.id}`)
    sum += ((await res.json()) as { lastSeq: number }).lastSeq
  }
  return sum
}

/** The first `n` sessions of `g`, all at once, each `turns` warm turns back to back. */
async function window(g: Gateway, n: number, turns: number): Promise<Window> {
  const before = await eventsStored(g, n)
  const latencies: number[] = []
  const busy0 = g.logBusyMs()
  const lanes0 = g.laneBusyMs()
  const tx0 = g.pgTransactions()
  g.storeCalls.calls.clear()
  g.storeCalls.counting = true
  const t0 = performance.now()
  await Promise.all(
    g.sessions.slice(0, n).map(async (s) => {
      for (let i = 0; i < turns; i++) {
        const start = performance.now()
        await turn(g, s)
        latencies.push(performance.now() - start)
      }
    }),
  )
  const wallMs = performance.now() - t0
  g.storeCalls.counting = false
  const calls = [...g.storeCalls.calls.values()].reduce((sum, c) => sum + c, 0)
  return {
    turnsPerSecond: (n * turns * 1000) / wallMs,
    latencies,
    storeCallsPerTurn: calls / (n * turns),
    logBusy: (g.logBusyMs() - busy0) / wallMs,
    lanesBusy: (g.laneBusyMs() - lanes0) / Math.max(g.logBusyMs() - busy0, 1e-9),
    pgTransactionsPerTurn: tx0 === undefined ? undefined : (g.pgTransactions()! - tx0) / (n * turns),
    eventsPerTurn: ((await eventsStored(g, n)) - before) / (n * turns),
  }
}

/** The p50 of 200 `SELECT 1` one after the other on one connection to `url` (ms). */
async function roundTripMs(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const times: number[] = []
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now()
      await client.query('SELECT 1')
      times.push(performance.now() - t0)
    }
    return percentile(times, 50)
  } finally {
    await client.end()
  }
}

/** The short commit of a checkout, as its label. */
function shortCommit(root: string): string {
  return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
}

async function main(): Promise<void> {
  const o = options()
  const scope = benchScope('agw-bench-pg-turns-')
  const maxSessions = Math.max(...o.sessions)
  const sides: Side[] = [
    { label: 'this', root: thisCheckout },
    ...o.baselines.map((root) => ({ label: shortCommit(root), root })),
    ...o.variants.map(({ name, env }) => ({ label: name, root: thisCheckout, env })),
  ]
  const startServers = new Map<Side, typeof ServerModule.startServer>()
  for (const side of sides)
    startServers.set(
      side,
      (await gatewayLoader(o.built, side.root)<typeof ServerModule>('http/server.js')).startServer,
    )
  for (const line of machineLines(loadLine('at the start'))) console.log(line)
  console.log(
    `runs:    sessions ${o.sessions.join(', ')} at once, ${o.turns} turns each per window, ${o.rounds} rounds (the checkouts' order rotates per round), ${o.warmup} warm-up turns per session; stores ${o.stores.join(', ')}; the gateways run from ${codeRan(o.built)}; the agent: the replaying app-server (no codex CPU)`,
  )
  console.log(`this:    ${thisCheckout} (${shortCommit(thisCheckout)}${dirty(thisCheckout)})`)
  for (const side of sides.slice(1))
    console.log(
      side.env
        ? `variant: this checkout with ${Object.entries(side.env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')} (${side.label})`
        : `baseline: ${side.root} (${side.label})`,
    )
  const pg = o.stores.includes('postgres') ? await startPostgres() : undefined
  let proxy: ChildProcess | undefined
  const gateways: Gateway[] = []
  const tables: string[] = []
  try {
    let proxyPort: number | undefined
    if (pg && o.pgLatencyMs > 0) {
      proxy = spawn(process.execPath, [delayProxy, '127.0.0.1', String(pg.port), String(o.pgLatencyMs)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      })
      const [line] = (await once(proxy.stdout!, 'data')) as [Buffer]
      proxyPort = Number(line.toString().trim())
      const direct = await roundTripMs(pg.url)
      const proxied = await roundTripMs(pg.url.replace(/:\d+\//, `:${proxyPort}/`))
      console.log(
        `postgres: through bench/delay-proxy.mjs, ${o.pgLatencyMs} ms each way: a SELECT 1 takes ${proxied.toFixed(2)} ms (p50 of 200; direct ${direct.toFixed(2)} ms)`,
      )
    }
    for (const store of o.stores) {
      const of = new Map<Side, Gateway>()
      for (const side of sides) {
        const g = await startGateway(side, store, startServers.get(side)!, pg, maxSessions, proxyPort)
        gateways.push(g)
        of.set(side, g)
        await Promise.all(
          g.sessions.map(async (s) => {
            for (let i = 0; i < o.warmup; i++) await turn(g, s)
          }),
        )
      }
      const rows: string[][] = []
      for (const n of o.sessions) {
        const windows = new Map<Side, Window[]>(sides.map((side) => [side, []]))
        for (let r = 0; r < o.rounds; r++) {
          scope.checkStop()
          const order = [...sides.slice(r % sides.length), ...sides.slice(0, r % sides.length)]
          for (const side of order) windows.get(side)!.push(await window(of.get(side)!, n, o.turns))
        }
        const reference = windows.get(sides[1] ?? sides[0]!)!
        for (const side of sides) {
          const ws = windows.get(side)!
          const latencies = ws.flatMap((w) => w.latencies)
          const paired = ws.map((w, i) => w.turnsPerSecond / reference[i]!.turnsPerSecond)
          rows.push([
            String(n),
            side.label,
            median(ws.map((w) => w.turnsPerSecond)).toFixed(0),
            percentile(latencies, 50).toFixed(1),
            percentile(latencies, 99).toFixed(1),
            median(ws.map((w) => w.eventsPerTurn)).toFixed(1),
            median(ws.map((w) => w.storeCallsPerTurn)).toFixed(1),
            `${(median(ws.map((w) => w.logBusy)) * 100).toFixed(0)}%`,
            median(ws.map((w) => w.lanesBusy)).toFixed(1),
            store === 'postgres' ? median(ws.map((w) => w.pgTransactionsPerTurn!)).toFixed(1) : '',
            sides.length > 1 && side !== sides[1]
              ? `${median(paired).toFixed(2)} (${paired.map((p) => p.toFixed(2)).join(' ')})`
              : '',
          ])
        }
        console.log(`${store}, ${n} sessions: done; ${loadLine('now')}`)
      }
      tables.push(
        `\n${store === 'sqlite' ? 'SQLite' : 'PostgreSQL'}:\n${markdownTable(
          [
            [
              'sessions',
              'checkout',
              'turns/s',
              'p50 ms',
              'p99 ms',
              'events/turn',
              'store calls/turn',
              'log busy',
              'lanes at once',
              'PG transactions/turn',
              sides.length > 1 ? `turns/s / ${sides[1]!.label}'s (per round)` : '',
            ],
            ...rows,
          ],
          [true, false, true, true, true, true, true, true, true, true, true],
        )}`,
      )
    }
    for (const t of tables) console.log(t)
  } finally {
    for (const g of gateways) await closeGateway(g)
    if (proxy && proxy.exitCode === null) {
      proxy.kill('SIGTERM')
      await once(proxy, 'exit')
    }
    await pg?.stop()
    console.log(loadLine('at the end'))
    scope.close()
  }
  const left = listProcesses().filter((p) => p.cmd.includes(replayAppServer))
  if (left.length > 0) throw new BenchError(`left running: ${left.map((p) => p.pid).join(', ')}`)
  console.log('cleanup: the gateways, their replaying app-servers and the PostgreSQL server are closed')
}

/** ", uncommitted changes" when the checkout has any. */
function dirty(root: string): string {
  const status = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], {
    encoding: 'utf8',
  })
  return status.trim() ? ', uncommitted changes' : ''
}

runBench(main)
