/**
 * What one wake-up of an idle Node thread costs in CPU on this machine (`npx tsx bench/wake-cost.ts`).
 *
 * A warm turn's gateway work is a handful of small steps, each started by a read after the thread slept (codex
 * writes each notification on its own, milliseconds apart; the key proxy's thread wakes for each piece of a model
 * call). This prints the main thread's CPU (/proc/thread-self/schedstat, ns) per wake-up when nothing but a timer
 * wakes it: `interval` a JavaScript setInterval callback that does nothing, `monitor` perf_hooks'
 * monitorEventLoopDelay (a libuv timer with no JavaScript: bench/gateway-process.ts samples every 10 ms, the
 * gateway's metrics every 50 ms), each at a few periods, and `idle` with no timer at all. Modes alternate,
 * `--rounds` times, `--seconds` each.
 *
 * Usage: npx tsx bench/wake-cost.ts [--seconds S] [--rounds R]
 */
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { printMachine } from './machine.js'
import { benchArgs, intOption } from './options.js'
import { markdownTable, median } from './stats.js'

const { values } = benchArgs({
  options: { seconds: { type: 'string' }, rounds: { type: 'string' } },
  strict: true,
})
const seconds = intOption(values.seconds, 5, 'seconds')
const rounds = intOption(values.rounds, 3, 'rounds')

/** This thread's CPU so far, ns (what it ran, not what it waited for a CPU). */
const threadNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0])

type Kind = 'interval' | 'monitor' | 'idle'
const modes: Array<[Kind, number]> = [
  ['interval', 10],
  ['interval', 50],
  ['monitor', 10],
  ['monitor', 50],
  ['idle', 0],
]

/** CPU µs per second of this thread and per wake-up, over `seconds` of `kind` at `periodMs`. */
async function measure(kind: Kind, periodMs: number): Promise<{ perSecond: number; perWake: number }> {
  let wakes = 0
  const monitor = kind === 'monitor' ? monitorEventLoopDelay({ resolution: periodMs }) : undefined
  monitor?.enable()
  const timer = kind === 'interval' ? setInterval(() => wakes++, periodMs) : undefined
  const ns0 = threadNs()
  const t0 = performance.now()
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  const usedUs = (threadNs() - ns0) / 1000
  const s = (performance.now() - t0) / 1000
  clearInterval(timer)
  monitor?.disable()
  if (kind === 'monitor') wakes = (s * 1000) / periodMs
  return { perSecond: usedUs / s, perWake: wakes > 0 ? usedUs / wakes : Number.NaN }
}

printMachine()
const results = new Map<string, Array<{ perSecond: number; perWake: number }>>()
for (let r = 0; r < rounds; r++)
  for (const [kind, period] of r % 2 === 0 ? modes : [...modes].reverse()) {
    const key = kind === 'idle' ? 'idle' : `${kind} ${period} ms`
    const got = await measure(kind, period)
    results.set(key, [...(results.get(key) ?? []), got])
  }
const rows = [['mode', 'main thread CPU µs per s (median)', 'µs per wake-up (median)']]
for (const [key, got] of results)
  rows.push([
    key,
    median(got.map((g) => g.perSecond)).toFixed(0),
    key === 'idle' ? '-' : median(got.map((g) => g.perWake)).toFixed(1),
  ])
console.log(
  `${rounds} rounds of ${seconds} s per mode, alternating\n${markdownTable(rows, [false, true, true])}`,
)
