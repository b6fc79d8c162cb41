/**
 * A gateway in a process of its own, for bench/event-relay.ts (`--gateway process`): the bench's client then
 * reads the relay from another process, as a real client does, instead of sharing the gateway's event loop.
 *
 * Usage: node --import tsx bench/gateway-process.ts  (environment: the gateway's settings; cwd: its directory;
 *        AGW_BENCH_GATEWAY_ROOT=<checkout> runs that checkout's gateway, e.g. a baseline, with this same probe;
 *        AGW_BENCH_BUILT=1 runs its built dist/ (`npm run build` first) instead of src/ through tsx, whose esbuild
 *        keepNames adds CPU to every function made at run time: docs/benchmarks.md, "Issue 14, session 15")
 * Prints one JSON line when it listens: {"url":...,"node":<the node binary its cli driver runs>}. Then reads
 * commands, one a line, on stdin:
 *   mark    starts measuring: CPU time and event-loop delay from now; answers {"marked":true}
 *   usage   answers {"cpuMs":..,"threads":{name:ms},"pageFaults":..,"loopP99Ms":..,"loopMaxMs":..,"gcMs":..,"gcMaxMs":..,"gcMajors":..,
 *           "scavenges":..,"youngBytes":..,"promotedBytes":..,"newSpaceBytes":..} since the last mark (the delay
 *           sampled every 10 ms: a 1 ms probe would be a third of a paced run's CPU here; not with
 *           AGW_BENCH_LOOP_DELAY=off; gc: the pauses V8 reported; scavenges..newSpaceBytes: the young generation,
 *           from v8.GCProfiler, see youngGeneration)
 *   memory  answers {"rss":..,"heapUsed":..,"external":..,"arrayBuffers":..} (bytes), after two full GCs with --expose-gc
 *   trace   with AGW_BENCH_TRACE=1 only: answers {"events":[..],"gc":[..]}, each event's step times since the last
 *           mark (bench/relay-trace-gateway.ts)
 * With AGW_BENCH_HEAP_SAMPLE=<file> every allocation between a mark and the next usage is sampled (V8's sampling heap
 * profiler every 1 KB, objects a GC collected included) and written to <file>-<n>.heapprofile: what the relay allocates.
 * Closing stdin stops the server and exits 0.
 */

import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import path from 'node:path'
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import type { startServer as StartServer } from '../src/http/server.js'
import { minorFaults } from './page-faults.js'
import { installGatewayTrace } from './relay-trace-gateway.js'
import { threadCpu } from './thread-cpu.js'
import { youngGeneration } from './young-generation.js'

// AGW_BENCH_GATEWAY_ROOT: another checkout whose gateway runs here (event-relay.ts --baseline), with this probe
const root = process.env.AGW_BENCH_GATEWAY_ROOT ?? path.join(import.meta.dirname, '..')
// AGW_BENCH_BUILT=1: that checkout's built dist/ (`npm run build`), what `npm start` runs, instead of src/ through tsx
const serverModule = process.env.AGW_BENCH_BUILT === '1' ? 'dist/http/server.js' : 'src/http/server.ts'
const { startServer } = (await import(pathToFileURL(path.join(root, serverModule)).href)) as {
  startServer: typeof StartServer
}

/** As bench/event-relay.ts samples it (and the gateway's own metrics): every 10 ms. */
const loopResolutionMs = 10
/**
 * AGW_BENCH_LOOP_DELAY=off: no sampling (loopP99Ms and loopMaxMs are then NaN). Its 10 ms timer wakes the gateway's
 * thread 100 times a second, which a bench of the gateway's CPU per turn (session-turns.ts) would count as the
 * gateway's.
 */
const sampleLoop = process.env.AGW_BENCH_LOOP_DELAY !== 'off'

const say = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`)

const server = await startServer({ env: process.env, cwd: process.cwd(), logger: false })
say({ url: server.url, node: server.ctx.registry.cli().resolve('node') })
// step timestamps per event (bench/event-relay.ts --trace): wraps a few calls, so only when asked
const trace =
  process.env.AGW_BENCH_TRACE === '1'
    ? await installGatewayTrace(
        root,
        server.ctx.store as unknown as Parameters<typeof installGatewayTrace>[1],
      )
    : null

// allocation sampling (AGW_BENCH_HEAP_SAMPLE): where the relay's garbage comes from
const heapSample = process.env.AGW_BENCH_HEAP_SAMPLE
const inspector = heapSample ? new Session() : null
inspector?.connect()
let heapSamples = 0

let cpu0 = process.cpuUsage()
let threads0 = threadCpu()
let faults0 = minorFaults()
let loop = monitorEventLoopDelay({ resolution: loopResolutionMs })
// garbage collection pauses of the main thread since the mark (a paced event's tail may be one)
let gc = { ms: 0, maxMs: 0, majors: 0 }
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.ms += entry.duration
    gc.maxMs = Math.max(gc.maxMs, entry.duration)
    // a mark-compact (full) collection, not a scavenge of the young generation
    if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
      gc.majors++
  }
})
gcObserver.observe({ entryTypes: ['gc'] })
// the young generation's work since the mark: how many scavenges, what they found (allocated), what they promoted
let gcProfiler = new v8.GCProfiler()
gcProfiler.start()
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'mark') {
    loop.disable()
    loop = monitorEventLoopDelay({ resolution: loopResolutionMs })
    if (sampleLoop) loop.enable()
    cpu0 = process.cpuUsage()
    threads0 = threadCpu()
    faults0 = minorFaults()
    gc = { ms: 0, maxMs: 0, majors: 0 }
    gcProfiler.stop()
    gcProfiler = new v8.GCProfiler()
    gcProfiler.start()
    trace?.reset()
    await inspector?.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    })
    say({ marked: true })
  } else if (line === 'usage') {
    const used = process.cpuUsage(cpu0)
    if (inspector) {
      const { profile } = await inspector.post('HeapProfiler.stopSampling')
      writeFileSync(`${heapSample}-${++heapSamples}.heapprofile`, JSON.stringify(profile))
    }
    say({
      cpuMs: (used.user + used.system) / 1000,
      // by thread name (/proc's 10 ms ticks): the main thread, the key proxy's, V8's GC helpers, ...
      threads: Object.fromEntries(
        [...threadCpu()]
          .map(([name, ms]) => [name, ms - (threads0.get(name) ?? 0)] as const)
          .filter(([, ms]) => ms > 0),
      ),
      pageFaults: minorFaults() - faults0,
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
      gcMs: gc.ms,
      gcMaxMs: gc.maxMs,
      gcMajors: gc.majors,
      ...youngGeneration(gcProfiler.stop()),
    })
    gcProfiler = new v8.GCProfiler()
    gcProfiler.start()
  } else if (line === 'trace') {
    say(trace?.take() ?? { events: [], gc: [] })
  } else if (line === 'memory') {
    // after two full collections when the process runs with --expose-gc
    const gcNow = (globalThis as { gc?: () => void }).gc
    gcNow?.()
    gcNow?.()
    const m = process.memoryUsage()
    say({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })
  }
}
loop.disable()
gcObserver.disconnect()
gcProfiler.stop()
await server.close(0)
