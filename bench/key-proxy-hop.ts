/**
 * The key proxy's hop on its own (`npx tsx bench/key-proxy-hop.ts`): one model call, a 45 KB JSON request and 20
 * SSE events back, keep-alive on both sides, straight to an upstream (`direct`) and through this checkout's key
 * proxy (`proxy`, its own thread: src/process/key-proxy/). With `--baseline <dir>` (another checkout with
 * node_modules) also through that checkout's KeyProxy (`base`), started the same way (`KeyProxy.start`): before
 * the thread, it served on this process's event loop.
 *
 * The client (the agent) and the upstream (the provider) run on a thread of their own, as neither is on the
 * gateway's loop; this thread is the gateway's. `--loop-busy-us N` keeps it busy N µs of every ms (a gateway's loop
 * busy with a turn's events and commits): a proxy on this loop waits behind that work, one on its own thread does not.
 * Times are taken on the client's thread.
 *
 * Prints each mode's median, p90 and minimum ms per call, the paired difference to `direct` per round (median and
 * 95% CI), the process's CPU per call (all threads: the proxy's, the client's and the upstream's count) and this
 * thread's (the gateway's; with `--loop-busy-us`, the burning counts too). Calls are interleaved, the order reversed
 * every round.
 *
 * `--connection per-call`: each call on an agent connection of its own, ended after its answer, as codex's
 * app-server calls its model (the proxy pairs each new connection with a pooled upstream one); default `reuse`, one
 * kept-alive connection for all calls.
 *
 * Usage: npx tsx bench/key-proxy-hop.ts [--calls N] [--warmup N] [--baseline <dir>] [--loop-busy-us N]
 *          [--connection reuse|per-call]
 * Not a test: exits 0 when every call got its 20 events through, 1 otherwise.
 */
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { KeyProxy } from '../src/process/key-proxy/key-proxy.js'
import { printMachine } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median, medianCi, percentile, timingTable } from './stats.js'

const { values } = benchArgs({
  options: {
    calls: { type: 'string' },
    warmup: { type: 'string' },
    baseline: { type: 'string' },
    'loop-busy-us': { type: 'string' },
    connection: { type: 'string' },
  },
  strict: true,
})
const calls = intOption(values.calls, 380, 'calls')
const warmup = intOption(values.warmup, 40, 'warmup', 0)
const busyUs = intOption(values['loop-busy-us'], 0, 'loop-busy-us', 0)
const connection = values.connection ?? 'reuse'
if (connection !== 'reuse' && connection !== 'per-call')
  throw new BenchError(`--connection: reuse or per-call, not ${connection}`)
const baseline = values.baseline ? path.resolve(values.baseline) : undefined
const baseModule = baseline && path.join(baseline, 'src/process/key-proxy/key-proxy.ts')
if (baseModule && !existsSync(baseModule)) throw new BenchError(`${baseModule} is missing`)

const key = 'sk-bench-0123456789'
const events = 20

/** The agent and the model provider, on a thread of their own (neither is on the gateway's loop): CommonJS. */
const peers = `
const { parentPort, workerData } = require('node:worker_threads')
const http = require('node:http')
const { key, events, perCall } = workerData
const body = JSON.stringify({ model: 'm', input: 'x'.repeat(45 * 1024) })
const event = 'event: delta\\ndata: {"text":"' + 'y'.repeat(200) + '"}\\n\\n'
const upstream = http.createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    if (req.headers.authorization !== 'Bearer ' + key) return void res.writeHead(401).end()
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    for (let i = 0; i < events; i++) res.write(event)
    res.end()
  })
})
upstream.keepAliveTimeout = 120000
upstream.listen(0, '127.0.0.1', () =>
  parentPort.postMessage({ upstream: 'http://127.0.0.1:' + upstream.address().port + '/v1' }))
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
function call(url, token) {
  const started = performance.now()
  // per call: a keep-alive request on a connection of its own, ended once the answer is read (codex's app-server)
  const own = perCall ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : agent
  return new Promise((resolve, reject) => {
    const req = http.request(url + '/responses', {
      method: 'POST',
      agent: own,
      headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => { text += c })
      res.on('end', () => {
        if (perCall) setImmediate(() => own.destroy())
        const got = text.split('\\n\\n').filter(Boolean).length
        if (res.statusCode !== 200 || got !== events) reject(new Error(url + ': status ' + res.statusCode + ', ' + got + ' events'))
        else resolve(performance.now() - started)
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}
parentPort.on('message', (m) => {
  if (m === 'close') {
    agent.destroy()
    upstream.closeAllConnections()
    upstream.close(() => parentPort.close())
    return
  }
  call(m.url, m.token).then((ms) => parentPort.postMessage({ id: m.id, ms }), (e) => parentPort.postMessage({ id: m.id, error: e.message }))
})
`
const thread = new Worker(peers, {
  eval: true,
  workerData: { key, events, perCall: connection === 'per-call' },
})
const [{ upstream: upstreamUrl }] = (await once(thread, 'message')) as [{ upstream: string }]
const upstreams = [{ provider: 'openai' as const, url: upstreamUrl, key }]
const pending = new Map<number, { resolve: (ms: number) => void; reject: (e: Error) => void }>()
let nextId = 0
thread.on('message', (m: { id: number; ms?: number; error?: string }) => {
  const p = pending.get(m.id)
  pending.delete(m.id)
  if (m.error !== undefined) p?.reject(new BenchError(m.error))
  else p?.resolve(m.ms ?? Number.NaN)
})
/** One call from the agent's thread to `url` with `token`: its ms there, once all 20 events came. */
const call = (url: string, token: string) =>
  new Promise<number>((resolve, reject) => {
    const id = nextId++
    pending.set(id, { resolve, reject })
    thread.postMessage({ id, url, token })
  })

interface Proxy {
  url(provider: 'openai'): string
  mint(provider: 'openai'): string
  close(): Promise<void>
}
const proxy: Proxy = await KeyProxy.start(upstreams)
const base: Proxy | undefined = baseModule
  ? await ((await import(pathToFileURL(baseModule).href)) as { KeyProxy: typeof KeyProxy }).KeyProxy.start(
      upstreams,
    )
  : undefined

// one token per proxy, as an agent process holds one for its life
const token = proxy.mint('openai')
const baseToken = base?.mint('openai') ?? ''
type Mode = 'direct' | 'proxy' | 'base'
const modes: Array<[Mode, () => Promise<number>]> = [
  ['direct', () => call(upstreamUrl, key)],
  ['proxy', () => call(proxy.url('openai'), token)],
]
if (base) modes.push(['base', () => call(base.url('openai'), baseToken)])

/** Burns `busyUs` of every ms on this thread while it runs. */
const busy = busyUs
  ? setInterval(() => {
      const until = performance.now() + busyUs / 1000
      while (performance.now() < until) {}
    }, 1)
  : undefined

/** This thread's CPU ms so far (/proc/thread-self/stat, in ticks of 10 ms: summed over many calls). */
function threadCpuMs(): number {
  const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) * 10
}
const ownCpu = Object.fromEntries(modes.map(([m]) => [m, 0])) as Record<Mode, number>
const times = Object.fromEntries(modes.map(([m]) => [m, [] as number[]])) as Record<Mode, number[]>
const cpu = Object.fromEntries(modes.map(([m]) => [m, [] as number[]])) as Record<Mode, number[]>
printMachine()
console.log(
  `calls: ${calls} per mode (+${warmup} warmup), interleaved; agent connections: ${connection === 'per-call' ? 'one per call (as codex app-server)' : 'one, kept alive'}; loop busy ${busyUs} µs/ms${baseline ? `; baseline ${baseline}` : ''}`,
)
try {
  for (let i = 0; i < warmup + calls; i++) {
    for (const [mode, run] of i % 2 === 0 ? modes : [...modes].reverse()) {
      const before = process.cpuUsage()
      const ownBefore = threadCpuMs()
      const ms = await run()
      const used = process.cpuUsage(before)
      if (i < warmup) continue
      ownCpu[mode] += threadCpuMs() - ownBefore
      times[mode].push(ms)
      cpu[mode].push((used.user + used.system) / 1000)
    }
  }
} finally {
  clearInterval(busy)
  await proxy.close()
  await base?.close()
  const ended = once(thread, 'exit')
  thread.postMessage('close')
  await ended
}

console.log(timingTable(modes.map(([m]) => [m, times[m]] as const)))
const rows = [
  [
    'mode - direct',
    'paired median ms',
    '95% CI',
    'CPU ms per call (process)',
    "this thread's CPU ms per call",
  ],
]
for (const [mode] of modes) {
  const diffs = times[mode].map((t, i) => t - (times.direct[i] ?? 0))
  const ci = medianCi(diffs)
  rows.push([
    mode,
    mode === 'direct' ? '-' : median(diffs).toFixed(3),
    mode === 'direct' || !ci ? '-' : `${ci[0].toFixed(3)} .. ${ci[1].toFixed(3)}`,
    `${median(cpu[mode]).toFixed(3)} (p90 ${percentile(cpu[mode], 90).toFixed(3)})`,
    (ownCpu[mode] / calls).toFixed(3),
  ])
}
console.log(markdownTable(rows, [false, true, true, true, true]))
