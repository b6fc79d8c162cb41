/**
 * A step timeline of the gateway's own critical path in a warm session turn (`npx tsx bench/turn-timeline.ts`).
 *
 * A gateway in this process (from dist/ with `--built`, `npm run build` first; from src/ through tsx otherwise) and
 * one session on it; the HTTP client (node:http, keep-alive, as bench/session-turns.ts's default) on a worker thread
 * of its own, so its work does not interleave with the gateway's event loop. The app-server is, by default, the
 * replaying one (bench/replay-app-server: a recorded codex 0.169.0 turn, one notification per write 1 ms apart, next
 * to no CPU), so the timeline is the gateway's alone; `--agent codex` runs the real codex against the mock model (on
 * a thread of its own) instead, where the turn's last notifications come close together as codex sends them.
 *
 * After `--warmup` turns, `--turns` turns are traced (bench/turn-steps.ts: process.hrtime stamps on the gateway's
 * classes and Node's sockets, wrapped at run time) and two halves are printed, each step's median time since the
 * half began and since the step before it, and in how many turns it occurred:
 *   before `turn/start`: from the client's request written to `turn/start` handed to the app-server's pipe (the
 *   write system call entered; its return also waits for the reader it wakes, which can preempt the gateway);
 *   after `turn/completed`: from the pipe read of the chunk that held `turn/completed` to the client having parsed
 *   the finished turn.
 * With `--baseline <checkout>` a second gateway, from that checkout (its dist/ or src/ and node_modules), runs in
 * this process with a session of its own, traced by the same probe; their turns alternate (which goes first
 * alternates too), and the halves are also compared paired per round: on a shared machine only paired figures
 * tell a change apart. The figures include the probe's own cost (a stamp is ~0.2 µs, a wrapped call a little
 * more). The stamps a half holds more than once (events appended, commits) are numbered in order.
 *
 * `--client stream` drives the turns through seed 004's `POST /agent/stream` instead: one long-lived h2c stream per
 * gateway (length-prefixed frames), a `user_message` per turn, the turn had when "Agent run completed." is decoded;
 * the stream's own steps (the frame received, the events forwarded, each frame sent) are stamped as well.
 *
 * Usage: npx tsx bench/turn-timeline.ts [--turns N] [--warmup N] [--agent replay|codex] [--built] [--env NAME=value ...]
 *          [--client http|stream|ws]   (ws: the same frames over GET /agent/ws, one WebSocket per gateway)
 *          [--root <checkout>] [--baseline <checkout>] [--json <file>] [--cpu-prof <file>]
 *   --turns traced (of each gateway), default 200; --warmup untraced turns first, default 100; --root the checkout
 *   whose gateway is "this" (default this one); --env a setting of that gateway only; --json writes every turn's
 *   stamps; --cpu-prof writes a V8 sampling profile (50 µs) of this thread over the traced turns. Not a test:
 *   exits 0 when every turn gave the expected answer and nothing was left running.
 */
import { writeFileSync } from 'node:fs'
import inspector from 'node:inspector/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import type * as ServerModule from '../src/http/server.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { listProcesses } from '../test/support/processes.js'
import { codeRan, gatewayLoader, thisCheckout } from './gateway-modules.js'
import { loadLine, printMachine } from './machine.js'
import { type BenchMock, startBenchMock } from './mock-thread.js'
import { BenchError, benchArgs, envOption, intOption } from './options.js'
import { markdownTable, median, medianCi, percentile } from './stats.js'
import { installTurnSteps, type Stamp, type TracedGateway } from './turn-steps.js'

const replayAppServer = path.join(import.meta.dirname, 'replay-app-server', 'app-server.mjs')
const answer = 'ok'
const json = { 'content-type': 'application/json' }

function options() {
  const { values } = benchArgs({
    options: {
      turns: { type: 'string' },
      warmup: { type: 'string' },
      agent: { type: 'string' },
      built: { type: 'boolean', default: false },
      env: { type: 'string', multiple: true },
      root: { type: 'string' },
      baseline: { type: 'string' },
      json: { type: 'string' },
      'cpu-prof': { type: 'string' },
      client: { type: 'string' },
    },
  })
  const client = values.client ?? 'http'
  if (client !== 'http' && client !== 'stream' && client !== 'ws')
    throw new BenchError(`--client must be http, stream or ws, got "${client}"`)
  const agent = values.agent ?? 'replay'
  if (agent !== 'replay' && agent !== 'codex')
    throw new BenchError(`--agent must be replay or codex, got "${agent}"`)
  const env = envOption(values.env)
  return {
    turns: intOption(values.turns, 200, 'turns'),
    warmup: intOption(values.warmup, 100, 'warmup', 0),
    agent: agent as 'replay' | 'codex',
    built: values.built === true,
    env,
    root: values.root ? path.resolve(values.root) : thisCheckout,
    baseline: values.baseline ? path.resolve(values.baseline) : undefined,
    json: values.json,
    cpuProf: values['cpu-prof'],
    client: client as 'http' | 'stream' | 'ws',
  }
}

/** The HTTP client on a thread of its own: one turn per message, stamped on CLOCK_MONOTONIC. */
const clientThread = `
const { parentPort } = require('node:worker_threads')
const http = require('node:http')
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const now = () => Number(process.hrtime.bigint()) / 1e6
const body = JSON.stringify({ input: 'Say ok.' })
parentPort.on('message', ({ url, sessionId }) => {
  const stamps = []
  const req = http.request(url + '/v1/sessions/' + sessionId + '/turns?wait=true', {
    agent, method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  }, (res) => {
    stamps.push({ step: 'client: response head parsed', at: now() })
    let text = ''
    res.setEncoding('utf8')
    res.on('data', (chunk) => { text += chunk })
    res.on('end', () => {
      let turn
      try { turn = JSON.parse(text) } catch (err) { return parentPort.postMessage({ error: String(err) }) }
      stamps.push({ step: 'client: has the turn', at: now() })
      const ok = res.statusCode === 200 && turn.status === 'completed' && turn.finalResponse === ${JSON.stringify(answer)}
      parentPort.postMessage(ok ? { stamps } : { error: 'HTTP ' + res.statusCode + ': ' + text.slice(0, 300) })
    })
  })
  req.on('error', (err) => parentPort.postMessage({ error: String(err) }))
  req.on('socket', (socket) => socket.prependOnceListener('data', () => stamps.push({ step: 'client: first bytes read', at: now() })))
  stamps.push({ step: 'client: request written', at: now() })
  req.end(body)
})
`

/**
 * The /agent/stream client on a thread of its own (--client stream): one long-lived h2c stream per gateway,
 * length-prefixed frames; a turn is a user_message, done when "Agent run completed." is decoded.
 */
const streamClientThread = `
const { parentPort } = require('node:worker_threads')
const http2 = require('node:http2')
const now = () => Number(process.hrtime.bigint()) / 1e6
const streams = new Map()
let turn
function open(url) {
  const h2 = http2.connect(url)
  const req = h2.request({ ':method': 'POST', ':path': '/agent/stream', 'content-type': 'application/length-prefixed-json' })
  let pending = Buffer.alloc(0)
  const fail = (err) => { if (turn) { const t = turn; turn = undefined; parentPort.postMessage({ error: String(err) }) } }
  h2.on('error', fail)
  req.on('error', fail)
  req.on('data', (chunk) => {
    const at = now()
    if (turn) turn.stamps.push({ step: 'client: bytes read', at })
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
    while (pending.length >= 4) {
      const size = pending.readUInt32BE(0)
      if (pending.length < 4 + size) break
      const f = JSON.parse(pending.toString('utf8', 4, 4 + size))
      pending = pending.subarray(4 + size)
      const t = turn
      if (!t) continue
      if (f.type === 'item' && f.responseItem && f.responseItem.type === 'message')
        for (const part of f.responseItem.content || []) if (part.type === 'output_text') t.texts.push(part.text)
      if (f.type === 'error') { turn = undefined; parentPort.postMessage({ error: JSON.stringify(f) }); continue }
      if (f.type === 'status' && f.message === 'Agent run completed.') {
        turn = undefined
        t.stamps.push({ step: 'client: has the turn', at: now() })
        parentPort.postMessage(t.texts.includes(${JSON.stringify(answer)}) ? { stamps: t.stamps } : { error: 'no answer: ' + t.texts.join() })
      }
    }
  })
  return req
}
parentPort.on('message', ({ url, sessionId }) => {
  let req = streams.get(url)
  if (!req) streams.set(url, (req = open(url)))
  const json = Buffer.from(JSON.stringify({ type: 'user_message', sessionId, content: 'Say ok.' }))
  const prefix = Buffer.alloc(4)
  prefix.writeUInt32BE(json.length)
  turn = { stamps: [], texts: [] }
  turn.stamps.push({ step: 'client: request written', at: now() })
  req.write(Buffer.concat([prefix, json]))
})
`

/** The same over GET /agent/ws (--client ws): one WebSocket per gateway, one frame per message. */
const wsClientThread = `
const { parentPort } = require('node:worker_threads')
const WebSocket = require('ws')
const now = () => Number(process.hrtime.bigint()) / 1e6
const sockets = new Map()
let turn
function open(url) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/agent/ws', ['agent-stream'])
  const fail = (err) => { if (turn) { const t = turn; turn = undefined; parentPort.postMessage({ error: String(err) }) } }
  ws.on('error', fail)
  ws.on('close', () => fail('closed'))
  ws.on('message', (data) => {
    const at = now()
    const t = turn
    if (!t) return
    t.stamps.push({ step: 'client: bytes read', at })
    const f = JSON.parse(String(data))
    if (f.type === 'item' && f.responseItem && f.responseItem.type === 'message')
      for (const part of f.responseItem.content || []) if (part.type === 'output_text') t.texts.push(part.text)
    if (f.type === 'error') { turn = undefined; parentPort.postMessage({ error: JSON.stringify(f) }); return }
    if (f.type === 'status' && f.message === 'Agent run completed.') {
      turn = undefined
      t.stamps.push({ step: 'client: has the turn', at: now() })
      parentPort.postMessage(t.texts.includes(${JSON.stringify(answer)}) ? { stamps: t.stamps } : { error: 'no answer: ' + t.texts.join() })
    }
  })
  return new Promise((resolve, reject) => { ws.once('open', () => resolve(ws)); ws.once('error', reject) })
}
parentPort.on('message', async ({ url, sessionId }) => {
  let ws = sockets.get(url)
  if (!ws) sockets.set(url, (ws = open(url)))
  const socket = await ws
  turn = { stamps: [], texts: [] }
  const text = JSON.stringify({ type: 'user_message', sessionId, content: 'Say ok.' })
  turn.stamps.push({ step: 'client: request written', at: now() })
  socket.send(text)
})
`

interface Client {
  turn(url: string, sessionId: string): Promise<Stamp[]>
  close(): Promise<number>
}

function startClient(kind: 'http' | 'stream' | 'ws'): Client {
  const code = { http: clientThread, stream: streamClientThread, ws: wsClientThread }[kind]
  const worker = new Worker(code, { eval: true })
  return {
    turn: (url, sessionId) =>
      new Promise((resolve, reject) => {
        worker.once('message', (m: { stamps?: { step: string; at: number }[]; error?: string }) =>
          m.stamps ? resolve(m.stamps) : reject(new BenchError(`turn: ${m.error}`)),
        )
        worker.postMessage({ url, sessionId })
      }),
    close: () => worker.terminate(),
  }
}

/** Fastify's Reply.prototype of the checkout's own fastify (its reply.send is stamped). */
function fastifyReply(root: string): object | undefined {
  try {
    const require = createRequire(path.join(root, 'package.json'))
    return (require('fastify/lib/reply.js') as { prototype: object }).prototype
  } catch {
    return undefined
  }
}

const found = (h: (Stamp[] | undefined)[]) => h.filter((x): x is Stamp[] => x !== undefined)

/** A half of the turn: the stamps from `from` (the first stamp so named) up to and with `to` (its first after). */
function half(stamps: Stamp[], from: string, to: string): Stamp[] | undefined {
  const start = stamps.findIndex((s) => s.step === from)
  if (start < 0) return undefined
  const end = stamps.findIndex((s, i) => i > start && s.step === to)
  if (end < 0) return undefined
  // repeated steps are numbered in order (the 2nd EventLog.append ... is "#2")
  const seen = new Map<string, number>()
  return stamps.slice(start, end + 1).map((s) => {
    const n = (seen.get(s.step) ?? 0) + 1
    seen.set(s.step, n)
    return n > 1 ? { ...s, step: `${s.step} #${n}` } : s
  })
}

function report(title: string, halves: Stamp[][]): void {
  const rows = new Map<string, { since: number[]; delta: number[] }>()
  const totals: number[] = []
  for (const h of halves) {
    const t0 = h[0]!.at
    totals.push(h.at(-1)!.at - t0)
    h.forEach((s, i) => {
      const prev = h[i - 1]
      const row = rows.get(s.step) ?? { since: [], delta: [] }
      rows.set(s.step, row)
      row.since.push(s.at - t0)
      row.delta.push(prev ? s.at - prev.at : 0)
    })
  }
  const us = (v: number) => (v * 1000).toFixed(0)
  const table = [['step', 'µs since start (median)', 'µs since the step before (median, p90)', 'turns']]
  for (const [step, r] of [...rows].sort((a, b) => median(a[1].since) - median(b[1].since)))
    table.push([
      step,
      us(median(r.since)),
      `${us(median(r.delta))} (${us(percentile(r.delta, 90))})`,
      String(r.since.length),
    ])
  console.log(
    `\n${title}: ${halves.length} turns, median ${us(median(totals))} µs (p90 ${us(percentile(totals, 90))})\n`,
  )
  console.log(markdownTable(table, [false, true, true, true]))
}

async function main(): Promise<void> {
  const o = options()
  printMachine()
  console.log(loadLine('at the start'))
  console.log(
    `runs:    ${o.warmup} warm-up turns, then ${o.turns} traced${o.baseline ? ' of each gateway, alternating' : ''}; the app-server: ${o.agent === 'replay' ? 'the replaying one (bench/replay-app-server)' : 'codex, against the mock model on a thread'}; the gateway of ${o.root}${o.baseline ? ` and of ${o.baseline}` : ''}, from ${codeRan(o.built)}`,
  )
  let mock: BenchMock | undefined
  const servers: ServerModule.RunningServer[] = []
  let client: Client | undefined
  try {
    mock = o.agent === 'codex' ? await startBenchMock(answer, 'thread') : undefined
    const roots = [o.root, ...(o.baseline ? [o.baseline] : [])]
    const traced: { root: string; url: string; sessionId: string; turns: Stamp[][] }[] = []
    const gateways: TracedGateway[] = []
    for (const root of roots) {
      const own = root === o.root ? o.env : {}
      const load = gatewayLoader(o.built, root)
      const { startServer } = await load<typeof ServerModule>('http/server.js')
      const { env, dir } = gatewayEnv(
        mock ?? null,
        o.agent === 'replay'
          ? {
              CODEX_PATH: replayAppServer,
              CODEX_WARM_RUNS: 'false',
              // never asked: the replaying app-server answers by itself
              CODEX_API_BASE_URL: 'http://127.0.0.1:9/v1',
              CODEX_API_KEY: 'unused',
              ...own,
            }
          : { CODEX_WARM_RUNS: 'false', ...own },
      )
      const server = await startServer({ env, cwd: dir, logger: false })
      servers.push(server)
      let sessionId = `timeline-${process.pid}-${traced.length}`
      if (o.client === 'http') {
        const created = await fetch(`${server.url}/v1/sessions`, {
          method: 'POST',
          headers: json,
          body: '{}',
        })
        const session = (await created.json()) as { id: string }
        if (created.status !== 201) throw new BenchError(`POST /v1/sessions: ${JSON.stringify(session)}`)
        sessionId = session.id
      } // the stream's first user_message creates the session it names
      traced.push({ root, url: server.url, sessionId, turns: [] })
      gateways.push({
        load,
        store: server.ctx.store,
        server: server.app.server,
        replyProto: fastifyReply(root),
      })
    }
    client = startClient(o.client)
    for (let i = 0; i < o.warmup; i++) for (const g of traced) await client.turn(g.url, g.sessionId)
    const steps = await installTurnSteps(gateways)
    const profiler = o.cpuProf ? new inspector.Session() : undefined
    profiler?.connect()
    await profiler?.post('Profiler.enable')
    await profiler?.post('Profiler.setSamplingInterval', { interval: 50 })
    await profiler?.post('Profiler.start')
    try {
      for (let i = 0; i < o.turns; i++)
        // alternating which goes first, so neither always follows the other
        for (const g of i % 2 === 0 ? traced : [...traced].reverse()) {
          steps.begin()
          const fromClient = await client.turn(g.url, g.sessionId)
          g.turns.push([...steps.end(), ...fromClient].sort((a, b) => a.at - b.at))
        }
    } finally {
      steps.restore()
      if (profiler) {
        const { profile } = await profiler.post('Profiler.stop')
        writeFileSync(o.cpuProf!, JSON.stringify(profile))
        profiler.disconnect()
      }
    }
    if (o.json) writeFileSync(o.json, JSON.stringify(traced.map(({ root, turns }) => ({ root, turns }))))
    const halves = traced.map((g) => ({
      pre: g.turns.map((t) => half(t, 'client: request written', 'pipe write')),
      post: g.turns.map((t) => half(t, 'pipe read (turn/completed chunk)', 'client: has the turn')),
    }))
    traced.forEach((g, i) => {
      const { pre, post } = halves[i]!
      console.log(`\n## ${i === 0 ? 'this gateway' : 'the baseline'}: ${g.root}`)
      report('Before turn/start (client request written -> turn/start handed to the pipe)', found(pre))
      report('After turn/completed (its chunk read from the pipe -> the client has the turn)', found(post))
      const missing = g.turns.length - Math.min(found(pre).length, found(post).length)
      if (missing > 0) console.log(`\n${missing} turns lacked a half's first or last stamp (left out above)`)
    })
    if (halves.length === 2) {
      const span = (h: Stamp[] | undefined) => (h ? h.at(-1)!.at - h[0]!.at : Number.NaN)
      const paired = (pick: (i: number, g: number) => number) => {
        const d = halves[0]!.pre.map((_, i) => pick(i, 0) - pick(i, 1)).filter((v) => !Number.isNaN(v))
        const c = medianCi(d)
        return `${(median(d) * 1000).toFixed(0)} µs (95% CI ${c ? c.map((v) => (v * 1000).toFixed(0)).join(' .. ') : '-'})`
      }
      const both = (i: number, g: number) => span(halves[g]!.pre[i]) + span(halves[g]!.post[i])
      console.log('\nthis - baseline, paired per round:')
      console.log(`  before turn/start: ${paired((i, g) => span(halves[g]!.pre[i]))}`)
      console.log(`  after turn/completed: ${paired((i, g) => span(halves[g]!.post[i]))}`)
      console.log(`  both halves: ${paired(both)}`)
      console.log(
        `  medians of both halves: this ${(median(halves[0]!.pre.map((_, i) => both(i, 0)).filter((v) => !Number.isNaN(v))) * 1000).toFixed(0)} µs, the baseline ${(median(halves[1]!.pre.map((_, i) => both(i, 1)).filter((v) => !Number.isNaN(v))) * 1000).toFixed(0)} µs`,
      )
    }
  } finally {
    await client?.close().catch(() => 0)
    for (const server of servers) await server.close().catch(() => {})
    await mock?.close().catch(() => {})
    console.log(loadLine('at the end'))
  }
  const left = listProcesses().filter((p) => p.cmd.includes(replayAppServer) || p.cmd.includes('app-server'))
  const mine = left.filter((p) => p.ppid === process.pid)
  if (mine.length > 0) throw new BenchError(`left running: ${mine.map((p) => p.pid).join(', ')}`)
}

main().catch((err) => {
  console.error(err instanceof BenchError ? `turn-timeline: ${err.message}` : err)
  process.exitCode = 1
})
