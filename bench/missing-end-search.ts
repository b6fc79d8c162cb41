/**
 * What the search for finished runs without their run.completed (Store.takeOverRunsMissingEnd, run at every
 * recovery for each dead node) costs on SQLite: a dead node that finished `--runs` runs, each with `--events`
 * events ending in run.completed (nothing missing: the common case, the whole scan for nothing), timed `--repeat`
 * times. Usage: npx tsx bench/missing-end-search.ts [--runs 10000] [--events 20] [--repeat 20]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { queuedRun } from '../src/protocol/runs.js'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js'
import { loadNow, printMachine } from './machine.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    events: { type: 'string', default: '20' },
    repeat: { type: 'string', default: '20' },
  },
})
const runs = Number(values.runs)
const events = Number(values.events)
const repeat = Number(values.repeat)
printMachine()
const dir = mkdtempSync(path.join(tmpdir(), 'missing-end-'))
const store = new SqliteStore(path.join(dir, 'gw.db'))
try {
  const at = '2026-01-01T00:00:00.000Z'
  await store.registerNode({
    id: 'node_dead',
    role: 'all',
    host: 'h',
    pid: 1,
    startedAt: at,
    heartbeatAt: at,
  })
  for (let i = 0; i < runs; i++) {
    const id = `run_${String(i).padStart(8, '0')}`
    await store.admitRun(queuedRun(id, 'codex-exec', { prompt: 'p', cwd: '/w' }, at), 'node_dead', runs + 1)
    const batch = Array.from({ length: events - 1 }, () => ({
      ownerId: id,
      event: { type: 'output', stream: 'stdout', data: 'x'.repeat(200) } as const,
      at,
    }))
    batch.push({
      ownerId: id,
      event: {
        type: 'run.completed',
        status: 'succeeded',
        exitCode: 0,
        signal: null,
        reason: 'exited',
        finalResponse: 'ok',
        usage: null,
      } as never,
      at,
    })
    await store.appendEvents(batch)
    await store.updateRun(id, { status: 'succeeded', finishedAt: at })
  }
  const times: number[] = []
  for (let r = 0; r < repeat; r++) {
    const start = performance.now()
    const found = await store.takeOverRunsMissingEnd(['node_dead'], 'node_me')
    times.push(performance.now() - start)
    if (found.length !== 0) throw new Error(`found ${found.length}`)
  }
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]!
  console.log(
    `${runs} finished runs of a dead node, ${events} events each: search median ${median.toFixed(2)} ms, min ${times[0]!.toFixed(2)} ms, max ${times.at(-1)!.toFixed(2)} ms (${repeat} times); load after ${loadNow()}`,
  )
} finally {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
}
