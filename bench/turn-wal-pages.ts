/**
 * The pages a warm session turn's store steps write to SQLite's WAL, by step and by b-tree
 * (`npx tsx bench/turn-wal-pages.ts [--baseline <checkout>] [--built]`).
 *
 * bench/session-wal.ts counts a turn's WAL bytes; this names the pages, step by step, and compares checkouts.
 * A figure the machine's load does not move (CPU per turn on a shared 2-core machine moves by ±100 µs; a page
 * fewer is worth a few µs to tens of µs): the SqliteStore of this checkout (and of the --baseline checkout, each on
 * a file of its own) runs `--turns` warm turns as the gateway's steps make them (turn-steps-paired.ts: the start
 * with its state and `session.status`, the agent's turn id with `turn.started`, `--events` agent events one by one,
 * the end with `turn.completed` and `session.status`; ids from the checkout's newId, time-ordered), and reads back,
 * after each step, the frames that step added to the WAL file, naming each frame's page by SQLite's `dbstat` (table
 * or index; `sqlite_schema` for page 1, the file's header, written when the file grows). A step during which the
 * store's checkpointer started the WAL over is not counted (the count of those is printed).
 *
 * Usage: npx tsx bench/turn-wal-pages.ts [--baseline <checkout>] [--built] [--turns N] [--events E] [--final-bytes B]
 *   --turns default 60; --events agent events per turn, default 1; --final-bytes the turn's final response and its
 *   agent message's text, default 2 (a large one shows what the turn's row costs when it outgrows a page's share);
 *   --built the stores from their dist/ (`npm run build` first).
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
import { markdownTable } from './stats.js'
import { warmTurnSteps } from './warm-turn-steps.js'

const { values } = benchArgs({
  options: {
    baseline: { type: 'string' },
    built: { type: 'boolean', default: false },
    turns: { type: 'string' },
    events: { type: 'string' },
    'final-bytes': { type: 'string' },
  },
})
const turns = intOption(values.turns, 60, '--turns')
const agentEvents = intOption(values.events, 1, '--events', 0)
const finalBytes = intOption(values['final-bytes'], 2, '--final-bytes', 0)
const built = values.built ?? false
const dir = mkdtempSync(path.join(os.tmpdir(), 'turn-wal-pages-'))

type Steps = Map<string, { frames: number; pages: Map<string, number> }>

/** One checkout's turns: the pages each step wrote, summed over the turns, and the steps not counted. */
async function measure(root: string, name: string): Promise<{ steps: Steps; lost: number }> {
  const load = gatewayLoader(built, root)
  const { SqliteStore } = await load<typeof StoreModule>('store/sqlite/sqlite-store.js')
  const { newId } = await load<typeof IdsModule>('core/ids.js')
  const file = path.join(dir, `${name}.db`)
  const store = new SqliteStore(file)
  await store.registerNode(nodeRecord('node_a'))
  await store.createSession(newSession('ses_1'), 'node_a')
  const claim = await store.claimSession('ses_1', 'node_a')
  const wal = `${file}-wal`
  const salt = () => readFileSync(wal).subarray(16, 24).toString('hex')
  const spans: { step: string; from: number; to: number }[] = []
  let lost = 0
  const step = async (name: string, write: () => Promise<unknown>) => {
    const [s0, from] = [salt(), statSync(wal).size]
    await write()
    const [s1, to] = [salt(), statSync(wal).size]
    if (s0 === s1 && to >= from) spans.push({ step: name, from, to })
    else lost++
  }
  const text = 'x'.repeat(finalBytes)
  for (let i = 0; i < turns; i++)
    await warmTurnSteps(store, { id: newId('turn'), sessionId: 'ses_1', claim }, { agentEvents, text }, step)
  const bytes = readFileSync(wal)
  const frame = 24 + bytes.readUInt32BE(8)
  const reader = new Database(file, { readonly: true })
  const names = new Map(
    (reader.prepare('SELECT pageno, name FROM dbstat').all() as { pageno: number; name: string }[]).map(
      (r) => [r.pageno, r.name],
    ),
  )
  reader.close()
  await store.close()
  const steps: Steps = new Map()
  for (const { step, from, to } of spans) {
    const tally = steps.get(step) ?? { frames: 0, pages: new Map<string, number>() }
    steps.set(step, tally)
    for (let at = Math.max(32, from); at + frame <= to; at += frame) {
      const page = names.get(bytes.readUInt32BE(at)) ?? 'unknown'
      tally.frames++
      tally.pages.set(page, (tally.pages.get(page) ?? 0) + 1)
    }
  }
  return { steps, lost }
}

function print(title: string, { steps, lost }: { steps: Steps; lost: number }): number {
  const per = (n: number, step: string) =>
    (n / (step === 'agent event' ? turns * agentEvents : turns)).toFixed(2)
  let total = 0
  const rows = [...steps].map(([step, { frames, pages }]) => {
    total += frames / turns
    const which = [...pages].sort((a, b) => b[1] - a[1]).map(([page, n]) => `${page} ${per(n, step)}`)
    return [step, per(frames, step), which.join(', ')]
  })
  console.log(
    `\n## ${title}\n\n${markdownTable([['step', 'pages per step', 'which b-trees, per step'], ...rows])}`,
  )
  console.log(
    `pages per turn: ${total.toFixed(2)}${lost ? ` (${lost} steps not counted: the WAL started over)` : ''}`,
  )
  return total
}

printMachine()
console.log(loadLine('at the start'))
console.log(
  `runs:    ${turns} warm turns of each store, ${agentEvents} agent event(s) a turn, final response ${finalBytes} B; ` +
    `this ${thisCheckout}${values.baseline ? `, the baseline ${values.baseline}` : ''}, from ${codeRan(built)}`,
)
try {
  const mine = print(`this: ${thisCheckout}`, await measure(thisCheckout, 'this'))
  if (values.baseline) {
    const base = print(`baseline: ${values.baseline}`, await measure(path.resolve(values.baseline), 'base'))
    console.log(`\nthis - baseline: ${(mine - base).toFixed(2)} pages per turn`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
