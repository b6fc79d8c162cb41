/**
 * What storing one agent event costs the SQLite store (`npx tsx bench/event-append.ts --baseline <checkout>`):
 * `SqliteStore.appendEvent` of an `output` event (2 KB, as a paced agent writes; 54 KB, as the cli driver turns
 * one 64 KB pipe read of a burst into one event), back to back ("hot") and after the event loop slept 10 ms
 * ("after idle", as in a paced relay: the gateway wakes for each event with cold caches). This build's store and,
 * with --baseline, another checkout's, interleaved round by round in one process, each on its own file.
 *
 * Usage: npx tsx bench/event-append.ts [--baseline <checkout with node_modules>] [--rounds N] [--events N] [--batch N]
 *   [--owner run|owned-run|session]
 *   --rounds  interleaved rounds per cell, default 5; --events appends per round, default 200
 *   --batch   events per append (appendEvents, one group commit; default 1: appendEvent); µs are then per event
 *   --owner   whose events: a run's (default, unfenced: one gateway alone), a run's appended with the node that
 *             executes it (`owned-run`, as in a cluster: the store checks the run's owner in the append), or a
 *             session's appended with the claim its node holds (fenced likewise); a baseline without that
 *             fencing ignores the fence
 * Prints per cell the median over rounds of the median wall µs per append, and the CPU µs per append
 * (process.cpuUsage: robust to a shared machine's noise for the hot case; after idle the append runs on a cold cache; the wake-up itself is not counted).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import type { AgentEvent, StoredEvent } from '../src/protocol/events.js'
import { queuedRun } from '../src/protocol/runs.js'
import { newSession } from '../test/contract/store-contract.js'
import { loadLine, printMachine } from './machine.js'
import { benchArgs, intOption } from './options.js'
import { markdownTable, median } from './stats.js'

interface AppendingStore {
  createRun(run: unknown): Promise<void>
  registerNode(node: unknown): Promise<void>
  createSession(session: unknown, owner: string): Promise<void>
  admitRun(run: unknown, owner: string | null, maxUnfinished: number): Promise<boolean>
  appendEvent(owner: string, event: AgentEvent, at: string, fence?: number | string): Promise<StoredEvent>
  appendEvents(
    // `claim`: the name of a session's fence in builds before run fencing
    batch: {
      ownerId: string
      event: AgentEvent
      at: string
      fence?: number | string
      claim?: number | string
    }[],
  ): Promise<StoredEvent[]>
  close(): Promise<void>
}
type StoreClass = new (file: string) => AppendingStore

const { values } = benchArgs({
  options: {
    baseline: { type: 'string' },
    rounds: { type: 'string' },
    events: { type: 'string' },
    batch: { type: 'string' },
    owner: { type: 'string', default: 'run' },
  },
  strict: true,
})
const rounds = intOption(values.rounds, 5, 'rounds')
const events = intOption(values.events, 200, 'events')
const batch = intOption(values.batch, 1, 'batch')
const fences = { run: undefined, 'owned-run': 'node_bench', session: 1 } as const
if (!(values.owner in fences)) throw new Error('--owner: run, owned-run or session')
const owner = values.owner as keyof typeof fences
/** The owner appended to, and the fence its events carry (a session's first claim, as its creator holds it; the run's node). */
const ownerId = owner === 'session' ? 'ses_bench' : 'run_bench'
const fence = fences[owner]

async function storeClass(root: string): Promise<StoreClass> {
  const url = pathToFileURL(path.join(root, 'src/store/sqlite/sqlite-store.ts')).href
  return ((await import(url)) as { SqliteStore: StoreClass }).SqliteStore
}

/** Lines like bench/replay-agent.mjs writes, up to `bytes`. */
function outputOf(bytes: number): AgentEvent {
  let data = ''
  for (let i = 0; data.length < bytes; i++)
    data += `{"i":${i},"t":1796178204327.52,"m":40981545.95302,"pad":"${'x'.repeat(130)}"}\n`
  return { type: 'output', stream: 'stdout', data }
}

interface Round {
  wallUs: number
  cpuUs: number
}

async function round(store: AppendingStore, event: AgentEvent, idleMs: number): Promise<Round> {
  const walls: number[] = []
  let cpu = 0
  for (let i = 0; i < events; i++) {
    if (idleMs > 0) await sleep(idleMs)
    else await new Promise(setImmediate)
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const at = new Date().toISOString()
    if (batch === 1) await store.appendEvent(ownerId, event, at, fence)
    else
      await store.appendEvents(
        Array.from({ length: batch }, () => ({ ownerId, event, at, fence, claim: fence })),
      )
    walls.push(((performance.now() - t0) * 1000) / batch)
    const c = process.cpuUsage(c0)
    cpu += c.user + c.system
  }
  return { wallUs: median(walls), cpuUs: cpu / (events * batch) }
}

async function main(): Promise<void> {
  const builds: [string, StoreClass][] = [
    ['this build', await storeClass(path.join(import.meta.dirname, '..'))],
  ]
  if (values.baseline) builds.push([`baseline`, await storeClass(path.resolve(values.baseline))])
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agw-append-bench-'))
  let stores: (readonly [string, AppendingStore])[] = []
  try {
    stores = await Promise.all(
      builds.map(async ([name, Store], i) => {
        const store = new Store(path.join(dir, `${i}.db`))
        const now = new Date().toISOString()
        await store.registerNode({
          id: 'node_bench',
          role: 'all',
          host: 'h',
          pid: 1,
          startedAt: now,
          heartbeatAt: now,
        })
        // owned by the node, as a run a cluster node admitted
        await store.admitRun(queuedRun('run_bench', 'cli', { prompt: 'p', cwd: '/w' }, now), 'node_bench', 1)
        await store.createSession(newSession('ses_bench', { createdAt: now, updatedAt: now }), 'node_bench')
        return [name, store] as const
      }),
    )
    printMachine()
    console.log(loadLine('at the start'))
    const per = batch === 1 ? 'appends' : `appends of ${batch} events (µs per event)`
    console.log(`${rounds} interleaved rounds of ${events} ${per} per cell, to a ${values.owner}'s events\n`)
    const rows = [['event', 'between appends', 'store', 'wall µs (median)', 'CPU µs per append']]
    for (const bytes of [2000, 54000]) {
      const event = outputOf(bytes)
      for (const idleMs of [0, 10]) {
        const got = new Map<string, Round[]>(stores.map(([name]) => [name, []]))
        for (const [, store] of stores) await round(store, event, idleMs) // warm-up
        for (let r = 0; r < rounds; r++)
          for (const [name, store] of r % 2 === 0 ? stores : [...stores].reverse())
            got.get(name)!.push(await round(store, event, idleMs))
        for (const [name, rs] of got)
          rows.push([
            `${bytes / 1000} KB`,
            idleMs ? `${idleMs} ms idle` : 'none (hot)',
            name,
            median(rs.map((r) => r.wallUs)).toFixed(1),
            median(rs.map((r) => r.cpuUs)).toFixed(1),
          ])
      }
    }
    console.log(markdownTable(rows, [false, false, false, true, true]))
  } finally {
    for (const [, store] of stores) await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
