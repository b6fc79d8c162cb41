/**
 * Where the WAL's restart (and the sync of its new header) falls for a store whose turns come seconds apart
 * (`npx tsx bench/sparse-turns-wal.ts [--baseline <checkout>] [--built] [--turns N]`).
 *
 * An interactive session: one turn, then an idle gap in which the WAL checkpointer's 5 s tick finds the WAL written
 * (a few small commits: under its inline limit, so it checkpoints on the store's thread, no worker), then the next
 * turn. Each turn is the store steps a warm codex turn makes (its start, codex's turn id with `turn.started`, one
 * agent event, its end: as bench/turn-wal-pages.ts), the tick is `WalCheckpointer.check()` called between two turns.
 * SQLite starts a WAL that a checkpoint copied back over at the next commit, and syncs the new header first:
 * printed per checkout is how many of the turns' store steps started the WAL over (the WAL header's checkpoint
 * sequence moved inside the step), whether the tick itself did, and the milliseconds of each (this thread's wall
 * time: the sync is a wait of the event loop's thread). Counts, not timings, are the figures noise does not move.
 * With --baseline, the same for another checkout's SqliteStore (its dist/ with --built, else src/). Not a test.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import type * as IdsModule from '../src/core/ids.js'
import type * as StoreModule from '../src/store/sqlite/sqlite-store.js'
import { newSession, nodeRecord } from '../test/contract/store-contract.js'
import { codeRan, gatewayLoader, thisCheckout } from './gateway-modules.js'
import { loadLine, printMachine } from './machine.js'
import { benchArgs, intOption } from './options.js'
import { markdownTable, median, percentile } from './stats.js'
import { warmTurnSteps } from './warm-turn-steps.js'

const { values } = benchArgs({
  options: {
    baseline: { type: 'string' },
    built: { type: 'boolean', default: false },
    turns: { type: 'string' },
  },
})
const turns = intOption(values.turns, 40, '--turns')
const built = values.built ?? false
const dir = mkdtempSync(path.join(os.tmpdir(), 'sparse-turns-wal-'))

interface Tally {
  /** ms of each store step of the turns, and of each tick; the ones that started the WAL over apart. */
  steps: number[]
  restartingSteps: number[]
  /** ms of each turn's first step (the first commit after a tick), whether it started the WAL over or not */
  firstSteps: number[]
  ticks: number[]
  restartingTicks: number
}

async function measure(root: string, name: string): Promise<Tally> {
  const load = gatewayLoader(built, root)
  const { SqliteStore } = await load<typeof StoreModule>('store/sqlite/sqlite-store.js')
  const { newId } = await load<typeof IdsModule>('core/ids.js')
  const file = path.join(dir, `${name}.db`)
  const store = new SqliteStore(file)
  const checkpoints = (store as unknown as { checkpoints: { check(): Promise<void> } }).checkpoints
  await store.registerNode(nodeRecord('node_a'))
  await store.createSession(newSession('ses_1'), 'node_a')
  const claim = await store.claimSession('ses_1', 'node_a')
  // the schema's pages copied back, the WAL cut to nothing: a warm session's small commits from here on
  const other = new Database(file)
  other.pragma('wal_checkpoint(TRUNCATE)')
  other.close()
  // the commit that starts that WAL over, not counted
  await store.appendEvent(
    'ses_1',
    { type: 'session.status', status: 'idle' },
    new Date().toISOString(),
    claim,
  )
  const wal = `${file}-wal`
  const sequence = () => {
    const bytes = readFileSync(wal)
    return bytes.length >= 16 ? bytes.readUInt32BE(12) : -1
  }
  const tally: Tally = { steps: [], restartingSteps: [], firstSteps: [], ticks: [], restartingTicks: 0 }
  const timed = async (write: () => Promise<unknown>): Promise<[number, boolean]> => {
    const before = sequence()
    const t0 = performance.now()
    await write()
    return [performance.now() - t0, sequence() !== before]
  }
  const step = async (write: () => Promise<unknown>, first = false) => {
    const [ms, restarted] = await timed(write)
    ;(restarted ? tally.restartingSteps : tally.steps).push(ms)
    if (first) tally.firstSteps.push(ms)
  }
  for (let i = 0; i < turns; i++) {
    await warmTurnSteps(store, { id: newId('turn'), sessionId: 'ses_1', claim }, {}, (name, write) =>
      step(write, name === 'start'),
    )
    // the idle gap: the checkpointer's tick
    const [ms, restarted] = await timed(() => checkpoints.check())
    tally.ticks.push(ms)
    if (restarted) tally.restartingTicks++
  }
  if (statSync(wal).size > 256 * 1024) console.log(`(${name}: the WAL grew past the inline limit)`)
  await store.close()
  return tally
}

const ms = (xs: number[]) => (xs.length ? `${median(xs).toFixed(3)} / ${percentile(xs, 90).toFixed(3)}` : '-')
const row = (name: string, t: Tally) => [
  name,
  `${t.restartingSteps.length} of ${t.restartingSteps.length + t.steps.length}`,
  ms(t.restartingSteps),
  ms(t.steps),
  ms(t.firstSteps),
  `${t.restartingTicks} of ${t.ticks.length}`,
  ms(t.ticks),
]

printMachine()
console.log(loadLine('at the start'))
console.log(
  `runs:    ${turns} turns of 4 store steps each, a checkpointer tick after every turn; ` +
    `this ${thisCheckout}${values.baseline ? `, the baseline ${values.baseline}` : ''}, from ${codeRan(built)}`,
)
try {
  const rows = [row('this', await measure(thisCheckout, 'this'))]
  if (values.baseline) rows.push(row('baseline', await measure(path.resolve(values.baseline), 'base')))
  console.log(
    `\n${markdownTable([
      [
        'checkout',
        'turn steps that started the WAL over',
        'their ms, median / p90',
        'other steps ms, median / p90',
        "a turn's first step ms, median / p90",
        'ticks that started it over',
        'tick ms, median / p90',
      ],
      ...rows,
    ])}`,
  )
  console.log(loadLine('at the end'))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
