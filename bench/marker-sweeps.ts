/**
 * What the sweep of ended programs' leftovers (by marker) costs the gateway's event loop
 * (`npx tsx bench/marker-sweeps.ts`; docs/benchmarks.md, "Leftover sweeps off the event loop").
 *
 * --ends markers "end" (as that many runs ending) over --spread-ms (0: all at once; else evenly spread), none of
 * them carried by a live process (the common case: a run that left nothing). Four ways, interleaved over --reps
 * rounds:
 *   none          the batching without a scan (its own cost: timers, promises, the ends' spreading)
 *   here-per-end  one synchronous /proc scan per end, on this thread (how endMarked swept before)
 *   here-batched  marker-sweeps.ts's passes, each a synchronous scan on this thread (the fallback without a host)
 *   host-batched  marker-sweeps.ts's passes, each in the spawn host (what the gateway does)
 *   async-here    (--async) marker-sweeps.ts's passes, each an fs.promises scan on this thread (the option not taken)
 * Printed per way (medians over the rounds), from the first end until every sweep was over: passes (scans), the
 * CPU time of the event loop's thread (/proc schedstat: what it ran, however loaded the machine; per end µs,
 * minus `none`'s), its busy time (event-loop utilisation: includes time it waited for a CPU while busy), the
 * longest event-loop delay (perf_hooks histogram), and the wall time.
 *
 * With --escaped, the scan for what escaped a long-lived agent's tree after each of --ends turn ends instead
 * (escaped-processes.ts endEscaped's pass; none found, the common case), for both kinds of scope, paired over the
 * rounds: a directory (ACP: the cwd of every process is read, the environment of those inside) and an owner
 * (codex: every process's environment is read):
 *   none          no scan (the rounds' own cost)
 *   here-dir      signalEscapedHere on this thread (before; the fallback without a host)
 *   host-dir      the spawn host's signalEscaped (now)
 *   here-owner, host-owner  the same with an owner in the scope
 * and the ratio of host to here of the loop thread's CPU per scan.
 *
 * With --waits, how long a program's end waits for its sweep (local-runner.ts: `done`, so its run's end, comes once
 * a pass found nothing left): each of --ends ends over --spread-ms awaits its `end`, none carried by a live process
 * (the common case), per round the median and the longest wait, ms; two ways, interleaved:
 *   none          passes that scan nothing (the batching's own wait: timers, a pass under way, the interval)
 *   host-batched  the spawn host's passes, every process's environment read (a run whose start is not known)
 *   host-since    the same, given when each end's program started (now): older processes skipped after their stat
 *                 (what a run's end waited for before session 45)
 *   window        the gateway's own signaller (marked-processes.ts), given each end's program's pid window
 *                 (pid-window.ts; the program: a `true` run before the round, untimed): only pids given out since are
 *                 looked at, here when there are few, in the process-wide spawn host else (what a run's end waits
 *                 for now: local-runner.ts passes its leader's window)
 * `--ends 1` is a lone run's end; a larger --ends at --spread-ms 0 a burst.
 *
 * Usage: npx tsx bench/marker-sweeps.ts [--ends N] [--reps N] [--spread-ms N] [--async] [--escaped] [--waits]
 */

import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { type EscapeScope, signalEscapedHere } from '../src/process/escaped-processes.js'
import { signalMarked, signalMarkedHere } from '../src/process/marked-processes.js'
import { type MarkerSignaller, MarkerSweeps } from '../src/process/marker-sweeps.js'
import { pidSnapshot, pidWindow } from '../src/process/pid-window.js'
import { procScan } from '../src/process/proc-scan.js'
import { markerVariable } from '../src/process/process-marker.js'
import { spawnHostReady } from '../src/process/spawn-child.js'
import { SpawnHost } from '../src/process/spawn-host.js'
import { loadLine, machineLines } from './machine.js'
import { benchArgs, intOption } from './options.js'
import { markdownTable, median, percentile } from './stats.js'

const { values } = benchArgs({
  options: {
    ends: { type: 'string' },
    reps: { type: 'string' },
    'spread-ms': { type: 'string' },
    async: { type: 'boolean' },
    escaped: { type: 'boolean' },
    waits: { type: 'boolean' },
  },
})
const ends = intOption(values.ends, 500, 'ends')
const reps = intOption(values.reps, 5, 'reps')
const spreadMs = intOption(values['spread-ms'], 0, 'spread-ms', 0)

/** One pass with fs.promises reads on this thread (4 at a time): what an async scan here would cost. */
const asyncHere: MarkerSignaller = async (signals) => {
  const wanted = new Map(Object.entries(signals))
  const names = (await readdir('/proc')).filter((name) => /^\d+$/.test(name))
  const found = new Set<string>()
  let next = 0
  const reader = async () => {
    while (next < names.length) {
      const pid = Number(names[next++])
      if (pid === process.pid) continue
      const env = await readFile(`/proc/${pid}/environ`, 'latin1').then(
        (text) => text.split('\0'),
        () => null,
      )
      const marker = env ? procScan().markerIn(env, markerVariable, wanted) : undefined
      if (marker === undefined) continue
      try {
        process.kill(pid, wanted.get(marker))
        found.add(marker)
      } catch {}
    }
  }
  await Promise.all([0, 1, 2, 3].map(reader))
  return [...found]
}

/** CPU time this thread (the event loop's: its tid is the pid) has run, ms (/proc/<pid>/task/<pid>/schedstat, ns). */
const loopThreadCpuMs = () =>
  Number(readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6

interface Sample {
  passes: number
  /** CPU time of the event loop's thread. */
  cpuMs: number
  busyMs: number
  loopMaxMs: number
  wallMs: number
}

/**
 * `reps` rounds of every way (`reverseOdd`: every other round in the reverse order, so no way always runs after the
 * same one), a pause between two; then the host is stopped. Each way's samples, by name.
 */
async function sampleWays(
  ways: Record<string, () => Promise<Sample>>,
  host: SpawnHost,
  reverseOdd: boolean,
): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(Object.keys(ways).map((name) => [name, []]))
  try {
    for (let rep = 0; rep < reps; rep++) {
      const order = Object.entries(ways)
      for (const [name, way] of reverseOdd && rep % 2 === 1 ? order.reverse() : order) {
        samples.get(name)!.push(await way())
        await sleep(200)
      }
    }
  } finally {
    // the host does not keep this process alive (it is unref'd): a timer does until it is gone
    const keep = setInterval(() => {}, 1000)
    await host.stop()
    clearInterval(keep)
  }
  return samples
}

/**
 * Prints each way's medians over its rounds (`count`: what its passes are called) and its loop thread CPU per
 * `unit` (one of `ends` ends or scans) above the scaffold's ('none'); returns that per-unit cost, µs, by way.
 */
function printMedians(samples: Map<string, Sample[]>, count: string, unit: string): (name: string) => number {
  const med = (name: string, f: (s: Sample) => number) => median(samples.get(name)!.map(f))
  const scaffold = med('none', (s) => s.cpuMs)
  const perUnit = (name: string) => ((med(name, (s) => s.cpuMs) - scaffold) * 1000) / ends
  const rows = [
    [
      'way',
      count,
      'loop thread CPU ms',
      `per ${unit} µs (- none)`,
      'loop busy ms (ELU)',
      'loop delay max ms',
      'wall ms',
    ],
  ]
  for (const name of samples.keys())
    rows.push([
      name,
      String(med(name, (s) => s.passes)),
      med(name, (s) => s.cpuMs).toFixed(1),
      name === 'none' ? '-' : perUnit(name).toFixed(1),
      med(name, (s) => s.busyMs).toFixed(1),
      med(name, (s) => s.loopMaxMs).toFixed(1),
      med(name, (s) => s.wallMs).toFixed(0),
    ])
  console.log(markdownTable(rows, [false, true, true, true, true, true, true]))
  return perUnit
}

/** Ends `ends` markers over `spreadMs` through `end`, waits for `over`; this thread's cost meanwhile. */
async function round(
  end: (marker: string) => void,
  over: () => Promise<void>,
  passes: () => number,
): Promise<Sample> {
  const markers = Array.from({ length: ends }, () => randomUUID())
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  const elu0 = performance.eventLoopUtilization()
  const cpu0 = loopThreadCpuMs()
  const t0 = performance.now()
  if (spreadMs === 0) for (const marker of markers) end(marker)
  else {
    const start = performance.now()
    for (let i = 0; i < markers.length; i++) {
      const due = start + (i * spreadMs) / markers.length
      if (performance.now() < due) await sleep(due - performance.now())
      end(markers[i]!)
    }
  }
  // the sweeps' timers and the host's channel are unref'd: this keeps the process alive meanwhile
  const keep = setInterval(() => {}, 60_000)
  await over()
  clearInterval(keep)
  const wallMs = performance.now() - t0
  const cpuMs = loopThreadCpuMs() - cpu0
  const elu = performance.eventLoopUtilization(elu0)
  loop.disable()
  return { passes: passes(), cpuMs, busyMs: elu.active, loopMaxMs: loop.max / 1e6, wallMs }
}

async function main(): Promise<void> {
  for (const line of machineLines(loadLine('at the start'))) console.log(line)
  const processes = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length
  console.log(
    `ends:    ${ends} over ${spreadMs} ms, ${processes} processes in /proc, ${reps} rounds, interleaved\n`,
  )
  const host = await SpawnHost.start()
  if (!host) throw new Error('the spawn host did not start')
  const batched = (signaller: MarkerSignaller) => () => {
    // over once a pass answered and nothing is left: told by the pass, not polled (polling costs this thread too)
    let done: () => void = () => {}
    const over = new Promise<void>((resolve) => {
      done = resolve
    })
    const sweeps: MarkerSweeps = new MarkerSweeps(async (signals, since) => {
      const found = await signaller(signals, since)
      setImmediate(() => {
        if (sweeps.markers().length === 0) done()
      })
      return found
    })
    return round(
      (marker) => sweeps.end(marker, 1000),
      () => over,
      () => sweeps.passes,
    )
  }
  const ways: Record<string, () => Promise<Sample>> = {
    none: batched(async () => []),
    'here-per-end': () => {
      let passes = 0
      return round(
        (marker) => {
          passes++
          signalMarkedHere({ [marker]: 'SIGTERM' })
        },
        async () => {},
        () => passes,
      )
    },
    'here-batched': batched(async (signals) => signalMarkedHere(signals)),
    'host-batched': batched((signals) => host.signalMarked(signals)),
    ...(values.async ? { 'async-here': batched(asyncHere) } : {}),
  }
  const samples = await sampleWays(ways, host, false)
  const perEnd = printMedians(samples, 'passes', 'end')
  const ratio = (name: string) => `${name} ${(perEnd(name) / perEnd('here-per-end')).toFixed(3)}`
  const others = ['here-batched', 'host-batched', ...(values.async ? ['async-here'] : [])]
  console.log(`\nloop thread CPU per end, ratio to here-per-end: ${others.map(ratio).join(', ')}`)
  console.log(loadLine('at the end'))
}

/** --escaped: each way ends `ends` turns (a scan each) over `spreadMs`; the loop thread's CPU per scan. */
async function escapedMain(): Promise<void> {
  for (const line of machineLines(loadLine('at the start'))) console.log(line)
  const processes = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length
  console.log(
    `escaped scans: ${ends} over ${spreadMs} ms, ${processes} processes in /proc, ${reps} rounds, interleaved\n`,
  )
  const host = await SpawnHost.start()
  if (!host) throw new Error('the spawn host did not start')
  // a turn's directory nothing works in, and an agent process that is no process (pid_max is 2^22 at most)
  const turnDir = mkdtempSync(path.join(os.tmpdir(), 'escaped-bench-'))
  const root = 2 ** 22 + 1
  const scopes: Record<string, EscapeScope> = {
    dir: { within: [turnDir], except: [] },
    owner: { within: [turnDir], except: [], owner: randomUUID() },
  }
  const here = (scope: EscapeScope) => () => {
    let scans = 0
    return round(
      (marker) => {
        scans++
        signalEscapedHere(root, marker, scope, 'SIGTERM')
      },
      async () => {},
      () => scans,
    )
  }
  const inHost = (scope: EscapeScope) => () => {
    const answers: Promise<number>[] = []
    return round(
      (marker) => {
        answers.push(host.signalEscaped({ root, marker, scope, signal: 'SIGTERM' }))
      },
      async () => {
        await Promise.all(answers)
      },
      () => answers.length,
    )
  }
  const ways: Record<string, () => Promise<Sample>> = {
    none: () =>
      round(
        () => {},
        async () => {},
        () => 0,
      ),
    'here-dir': here(scopes.dir!),
    'host-dir': inHost(scopes.dir!),
    'here-owner': here(scopes.owner!),
    'host-owner': inHost(scopes.owner!),
  }
  let samples: Map<string, Sample[]>
  try {
    samples = await sampleWays(ways, host, true)
  } finally {
    rmSync(turnDir, { recursive: true, force: true })
  }
  printMedians(samples, 'scans', 'scan')
  // paired: each round's host way against the same round's here way
  const pairedRatio = (kind: string) =>
    median(
      samples
        .get(`host-${kind}`)!
        .map(
          (s, i) =>
            (s.cpuMs - samples.get('none')![i]!.cpuMs) /
            (samples.get(`here-${kind}`)![i]!.cpuMs - samples.get('none')![i]!.cpuMs),
        ),
    ).toFixed(3)
  console.log(
    `\nloop thread CPU per scan, host / here (median of the rounds' ratios): dir ${pairedRatio('dir')}, owner ${pairedRatio('owner')}`,
  )
  console.log(loadLine('at the end'))
}

/**
 * Now in /proc/<pid>/stat's starttime unit (clock ticks since boot), from /proc/uptime at USER_HZ 100 (Linux's on
 * every architecture it runs this on), one tick early: a bench's stand-in for a program's start.
 */
const ticksNow = () => Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100) - 1

/** --waits: each end's wait for its sweep to be over, by way. */
async function waitsMain(): Promise<void> {
  for (const line of machineLines(loadLine('at the start'))) console.log(line)
  const processes = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length
  console.log(
    `waits: ${ends} ends over ${spreadMs} ms, ${processes} processes in /proc, ${reps} rounds, interleaved\n`,
  )
  // nothing else keeps this process alive meanwhile (the host and the sweeps' timers are unref'd)
  const keep = setInterval(() => {}, 60_000)
  const host = await SpawnHost.start()
  if (!host) throw new Error('the spawn host did not start')
  const ways: Record<string, MarkerSignaller> = {
    none: async () => [],
    'host-batched': (signals) => host.signalMarked(signals),
    'host-since': (signals, since) => host.signalMarked(signals, since),
    window: signalMarked,
  }
  // the window way's signaller passes in the process-wide host when it does not pass here
  if (!(await spawnHostReady())) throw new Error('the process-wide spawn host did not start')
  const medians = new Map<string, number[]>(Object.keys(ways).map((name) => [name, []]))
  const longest = new Map<string, number[]>(Object.keys(ways).map((name) => [name, []]))
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const [name, signaller] of Object.entries(ways)) {
        const sweeps = new MarkerSweeps(signaller)
        const waits: Promise<number>[] = []
        // window: the round's program (one for all its ends), run to its end just now: its pid and the counters
        // read before its fork
        const window = name === 'window' ? pidWindow(pidSnapshot(), spawnSync('true').pid) : undefined
        const start = performance.now()
        for (let i = 0; i < ends; i++) {
          const due = start + (i * spreadMs) / ends
          if (performance.now() < due) await sleep(due - performance.now())
          const t0 = performance.now()
          // host-since: each end's program started just now (what local-runner.ts passes: its leader's start)
          const since = name === 'host-since' || name === 'window' ? ticksNow() : 0
          waits.push(sweeps.end(randomUUID(), 1000, since, window).then(() => performance.now() - t0))
        }
        const done = await Promise.all(waits)
        medians.get(name)!.push(median(done))
        longest.get(name)!.push(Math.max(...done))
        await sleep(200)
      }
    }
  } finally {
    await host.stop()
    clearInterval(keep)
  }
  const rows = [
    [
      'way',
      'wait ms, median (of the rounds’ medians)',
      'p90 of the rounds’ medians',
      'longest wait ms (median of rounds)',
    ],
  ]
  for (const name of Object.keys(ways))
    rows.push([
      name,
      median(medians.get(name)!).toFixed(2),
      percentile(medians.get(name)!, 90).toFixed(2),
      median(longest.get(name)!).toFixed(2),
    ])
  console.log(markdownTable(rows, [false, true, true, true]))
  console.log(loadLine('at the end'))
}

await (values.waits ? waitsMain() : values.escaped ? escapedMain() : main())
