/**
 * What SQLite's page cache size does to a fresh gateway's event appends (`npx tsx bench/sqlite-page-cache.ts`).
 *
 * Each cell is a process of its own (a fresh heap, as after a start): a new SqliteStore, its page cache set to
 * the cell's size, then `--phases` phases of `--appends` 54 KB `output` events (one 64 KB pipe read of a burst,
 * as the cli driver stores it), each phase's CPU per append and minor page faults per append. The cells
 * alternate (`--reps` times) and the table gives the medians per phase: the store's own 2 MiB cache against
 * better-sqlite3's default of 16 MiB, whose first ~16 MB of written pages each cost a page fault.
 *
 * Usage: npx tsx bench/sqlite-page-cache.ts [--reps N] [--phases N] [--appends N]
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { AgentEvent } from '../src/protocol/events.js'
import { queuedRun } from '../src/protocol/runs.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import { loadLine, printMachine } from './machine.js'
import { benchArgs, intOption } from './options.js'
import { minorFaults } from './page-faults.js'
import { markdownTable, median } from './stats.js'

const { values } = benchArgs({
  options: {
    reps: { type: 'string' },
    phases: { type: 'string' },
    appends: { type: 'string' },
    cell: { type: 'string' },
  },
  strict: true,
})
const reps = intOption(values.reps, 3, 'reps')
const phases = intOption(values.phases, 5, 'phases')
const appends = intOption(values.appends, 160, 'appends')
const cells = [
  ['store default (2 MiB)', 'store'],
  ['better-sqlite3 default (16 MiB)', '-16000'],
] as const

interface Phase {
  cpuUs: number
  faults: number
}

function outputOf(bytes: number): AgentEvent {
  let data = ''
  for (let i = 0; data.length < bytes; i++)
    data += `{"i":${i},"t":1796178204327.52,"m":40981545.95302,"pad":"${'x'.repeat(130)}"}\n`
  return { type: 'output', stream: 'stdout', data }
}

/** One cell, in this (fresh) process: prints its phases as JSON. */
async function runCell(cache: string): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agw-page-cache-'))
  const store = new SqliteStore(path.join(dir, 'gw.db'))
  try {
    if (cache !== 'store')
      (store as unknown as { db: { pragma(s: string): unknown } }).db.pragma(`cache_size = ${cache}`)
    const event = outputOf(54_000)
    const result: Phase[] = []
    for (let p = 0; p < phases; p++) {
      const id = `run_${p}`
      await store.createRun(queuedRun(id, 'cli', { prompt: 'p', cwd: '/w' }, new Date().toISOString()))
      const c0 = process.cpuUsage()
      const f0 = minorFaults()
      for (let i = 0; i < appends; i++) await store.appendEvent(id, event, new Date().toISOString())
      const c = process.cpuUsage(c0)
      result.push({ cpuUs: (c.user + c.system) / appends, faults: (minorFaults() - f0) / appends })
    }
    console.log(JSON.stringify(result))
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

function main(): void {
  printMachine()
  console.log(loadLine('at the start'))
  console.log(
    `${reps} alternating reps per cell, each a fresh process: ${phases} phases of ${appends} 54 KB appends\n`,
  )
  const got = new Map<string, Phase[][]>(cells.map(([name]) => [name, []]))
  for (let r = 0; r < reps; r++)
    for (const [name, cache] of r % 2 === 0 ? cells : [...cells].reverse()) {
      const out = execFileSync(
        process.execPath,
        [
          ...process.execArgv,
          import.meta.filename,
          `--cell=${cache}`,
          '--phases',
          `${phases}`,
          '--appends',
          `${appends}`,
        ],
        { encoding: 'utf8' },
      )
      got.get(name)?.push(JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as Phase[])
    }
  const rows = [['page cache', 'phase', 'MB written before', 'CPU µs per append', 'page faults per append']]
  for (const [name, runs] of got)
    for (let p = 0; p < phases; p++)
      rows.push([
        name,
        `${p + 1}`,
        ((p * appends * 54_000) / 1e6).toFixed(0),
        median(runs.map((phase) => phase[p]?.cpuUs ?? Number.NaN)).toFixed(0),
        median(runs.map((phase) => phase[p]?.faults ?? Number.NaN)).toFixed(1),
      ])
  console.log(markdownTable(rows, [false, true, true, true, true]))
  const first = (name: string) => median(got.get(name)?.map((phase) => phase[0]?.cpuUs ?? Number.NaN) ?? [])
  const [store, big] = cells.map(([name]) => first(name))
  console.log(`\nfirst phase, CPU per append: 2 MiB / 16 MiB = ${((store ?? 0) / (big ?? 1)).toFixed(2)}`)
  console.log(loadLine('at the end'))
}

if (values.cell) await runCell(values.cell)
else main()
