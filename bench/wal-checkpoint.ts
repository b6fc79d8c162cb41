/**
 * What a WAL checkpoint costs the event loop: on the main thread (a timer, as before) vs from a worker thread
 * (WalCheckpointer, what SqliteStore does now) (`npx tsx bench/wal-checkpoint.ts`).
 *
 * Each mode opens a fresh store file (SqliteStore, so the schema and pragmas are the real ones) and appends
 * run events at a steady rate (`--rate` events/s of `--bytes` each, in batches every 10 ms, like a busy
 * agent) for `--seconds`, with a checkpoint every `--interval` ms: `main` runs `PRAGMA wal_checkpoint(PASSIVE)`
 * on this thread (the old timer), `worker` asks the WalCheckpointer. It records the event loop's delay
 * (perf_hooks.monitorEventLoopDelay, 1 ms resolution) and the time each append took. The modes alternate for
 * `--reps` repetitions. Prints medians over repetitions of the loop delay p99/max and append p99/max.
 * Not a test; every temp file is removed.
 *
 * Usage: npx tsx bench/wal-checkpoint.ts [--seconds S] [--rate N] [--bytes N] [--interval MS] [--reps N]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import { queuedRun } from '../src/protocol/runs.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import { WalCheckpointer } from '../src/store/sqlite/wal-checkpointer.js'
import { loadLine, printMachine } from './machine.js'
import { benchArgs, intOption } from './options.js'
import { markdownTable, median, percentile } from './stats.js'

const { values } = benchArgs({
  options: {
    seconds: { type: 'string' },
    rate: { type: 'string' },
    bytes: { type: 'string' },
    interval: { type: 'string' },
    reps: { type: 'string' },
  },
})
const seconds = intOption(values.seconds, 12, 'seconds')
const rate = intOption(values.rate, 2000, 'rate')
const bytes = intOption(values.bytes, 1000, 'bytes')
const interval = intOption(values.interval, 1000, 'interval')
const reps = intOption(values.reps, 3, 'reps')

const tmp = mkdtempSync(path.join(os.tmpdir(), 'agw-bench-wal-'))

async function one(mode: 'main' | 'worker', rep: number) {
  const file = path.join(tmp, `${mode}-${rep}.db`)
  const store = new SqliteStore(file)
  // the store's own checkpointer stays idle (its 5 s timer); this bench drives the checkpoints itself
  const raw = new Database(file)
  const checkpointer = new WalCheckpointer(file, () => raw.pragma('wal_checkpoint(PASSIVE)'), 3_600_000)
  const runId = `run_${mode}_${rep}`
  await store.createRun(queuedRun(runId, 'cli', { prompt: 'p', cwd: tmp }, new Date().toISOString()))
  const pad = 'x'.repeat(bytes)
  const appends: number[] = []
  const timer = setInterval(() => {
    if (mode === 'main') raw.pragma('wal_checkpoint(PASSIVE)')
    else void checkpointer.checkpoint()
  }, interval)
  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  const perBatch = Math.max(1, Math.round(rate / 100))
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    const t0 = performance.now()
    await store.appendEvents(
      Array.from({ length: perBatch }, () => ({
        ownerId: runId,
        event: { type: 'output' as const, stream: 'stdout' as const, data: pad },
        at: new Date().toISOString(),
      })),
    )
    appends.push(performance.now() - t0)
    await sleep(10)
  }
  loop.disable()
  clearInterval(timer)
  await checkpointer.close()
  raw.close()
  await store.close()
  return {
    loopP99: loop.percentile(99) / 1e6,
    loopMax: loop.max / 1e6,
    appendP99: percentile(appends, 99),
    appendMax: Math.max(...appends),
  }
}

console.log('WAL checkpoint on the main thread vs from a worker thread')
printMachine()
console.log(
  `work:    ${rate} events/s of ${bytes} B for ${seconds} s, a checkpoint every ${interval} ms, ${reps} reps per mode`,
)
const results: Record<'main' | 'worker', Awaited<ReturnType<typeof one>>[]> = { main: [], worker: [] }
try {
  for (let r = 0; r < reps; r++)
    for (const mode of r % 2 === 0 ? (['main', 'worker'] as const) : (['worker', 'main'] as const))
      results[mode].push(await one(mode, r))
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
const f = (xs: number[]) => median(xs).toFixed(2)
console.log(
  markdownTable(
    [
      ['checkpoint', 'loop delay p99 ms', 'loop delay max ms', 'append p99 ms', 'append max ms'],
      ...(['main', 'worker'] as const).map((m) => [
        m === 'main' ? 'main thread (before)' : 'worker thread (after)',
        f(results[m].map((x) => x.loopP99)),
        f(results[m].map((x) => x.loopMax)),
        f(results[m].map((x) => x.appendP99)),
        f(results[m].map((x) => x.appendMax)),
      ]),
    ],
    [false, true, true, true, true],
  ),
)
console.log(loadLine('at the end'))
