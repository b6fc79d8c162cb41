/**
 * The key proxy's hop on its own (`npx tsx bench/key-proxy-hop.ts`): one model call, a 45 KB JSON request and 20
 * SSE events back, keep-alive on both sides, straight to an upstream (`direct`) and through this checkout's key
 * proxy (`proxy`, its own thread: src/process/key-proxy/). With `--baseline <dir>` (another checkout with
 * node_modules) also through that checkout's KeyProxy (`base`), started the same way (`KeyProxy.start`): before
 * the thread, it served on this process's event loop.
 *
 * The client and the upstream run on this thread, as the gateway's own work does. `--loop-busy-us N` keeps this
 * thread busy N µs of every ms while calls are in flight (a gateway's loop busy with a turn's events and commits):
 * a proxy on this loop waits behind that work, one on its own thread does not (the client and the upstream wait
 * in every mode).
 *
 * Prints each mode's median, p90 and minimum ms per call, the paired difference to `direct` per round (median and
 * 95% CI), and the process's CPU per call (all threads: the proxy's thread counts). Calls are interleaved, the order
 * reversed every round.
 *
 * Usage: npx tsx bench/key-proxy-hop.ts [--calls N] [--warmup N] [--baseline <dir>] [--loop-busy-us N]
 * Not a test: exits 0 when every call got its 20 events through, 1 otherwise.
 */
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { KeyProxy } from '../src/process/key-proxy/key-proxy.js'
import { printMachine } from './machine.js'
import { BenchError, intOption } from './options.js'
import { markdownTable, median, medianCi, percentile, timingTable } from './stats.js'

const { values } = parseArgs({
  options: {
    calls: { type: 'string' },
    warmup: { type: 'string' },
    baseline: { type: 'string' },
    'loop-busy-us': { type: 'string' },
  },
  strict: true,
})
const calls = intOption(values.calls, 380, 'calls')
const warmup = intOption(values.warmup, 40, 'warmup', 0)
const busyUs = intOption(values['loop-busy-us'], 0, 'loop-busy-us', 0)
const baseline = values.baseline ? path.resolve(values.baseline) : undefined
const baseModule = baseline && path.join(baseline, 'src/process/key-proxy/key-proxy.ts')
if (baseModule && !existsSync(baseModule)) throw new BenchError(`${baseModule} is missing`)

const key = 'sk-bench-0123456789'
const events = 20
const body = JSON.stringify({ model: 'm', input: 'x'.repeat(45 * 1024) })

const upstream = http.createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    if (req.headers.authorization !== `Bearer ${key}`) return void res.writeHead(401).end()
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    for (let i = 0; i < events; i++)
      res.write(`event: delta\ndata: {"i":${i},"text":"${'y'.repeat(200)}"}\n\n`)
    res.end()
  })
})
upstream.keepAliveTimeout = 120_000
upstream.listen(0, '127.0.0.1')
await once(upstream, 'listening')
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`
const upstreams = [{ provider: 'openai' as const, url: upstreamUrl, key }]

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

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
/** One call to `url` with `token`; its ms, once all 20 events came. */
function call(url: string, token: string): Promise<number> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/responses`, {
      method: 'POST',
      agent,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        text += c
      })
      res.on('end', () => {
        const got = text.split('\n\n').filter(Boolean).length
        if (res.statusCode !== 200 || got !== events)
          reject(new BenchError(`${url}: status ${res.statusCode}, ${got} events`))
        else resolve(performance.now() - started)
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

type Mode = 'direct' | 'proxy' | 'base'
const modes: Array<[Mode, () => Promise<number>]> = [
  ['direct', () => call(upstreamUrl, key)],
  ['proxy', () => call(proxy.url('openai'), proxy.mint('openai'))],
]
if (base) modes.push(['base', () => call(base.url('openai'), base.mint('openai'))])

/** Burns `busyUs` of every ms on this thread while it runs. */
const busy = busyUs
  ? setInterval(() => {
      const until = performance.now() + busyUs / 1000
      while (performance.now() < until) {}
    }, 1)
  : undefined

const times = Object.fromEntries(modes.map(([m]) => [m, [] as number[]])) as Record<Mode, number[]>
const cpu = Object.fromEntries(modes.map(([m]) => [m, [] as number[]])) as Record<Mode, number[]>
printMachine()
console.log(
  `calls: ${calls} per mode (+${warmup} warmup), interleaved; loop busy ${busyUs} µs/ms${baseline ? `; baseline ${baseline}` : ''}`,
)
try {
  for (let i = 0; i < warmup + calls; i++) {
    for (const [mode, run] of i % 2 === 0 ? modes : [...modes].reverse()) {
      const before = process.cpuUsage()
      const ms = await run()
      const used = process.cpuUsage(before)
      if (i < warmup) continue
      times[mode].push(ms)
      cpu[mode].push((used.user + used.system) / 1000)
    }
  }
} finally {
  clearInterval(busy)
  agent.destroy()
  await proxy.close()
  await base?.close()
  upstream.closeAllConnections()
  upstream.close()
}

console.log(timingTable(modes.map(([m]) => [m, times[m]] as const)))
const rows = [['mode - direct', 'paired median ms', '95% CI', 'CPU ms per call (process)']]
for (const [mode] of modes) {
  const diffs = times[mode].map((t, i) => t - (times.direct[i] ?? 0))
  const ci = medianCi(diffs)
  rows.push([
    mode,
    mode === 'direct' ? '-' : median(diffs).toFixed(3),
    mode === 'direct' || !ci ? '-' : `${ci[0].toFixed(3)} .. ${ci[1].toFixed(3)}`,
    `${median(cpu[mode]).toFixed(3)} (p90 ${percentile(cpu[mode], 90).toFixed(3)})`,
  ])
}
console.log(markdownTable(rows, [false, true, true, true]))
