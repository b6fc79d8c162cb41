/**
 * The CPU of a warm session turn's store steps on SQLite, this checkout's store against a baseline's, paired in
 * one process (`npx tsx bench/turn-steps-paired.ts --baseline <checkout> [--built]`).
 *
 * bench/turn-cpu-paired.ts measures the whole gateway per turn, ±0.3-0.5 ms on a shared machine: a change of tens
 * of µs in the store does not show there. Here only the store works, synchronously (better-sqlite3), as the
 * gateway calls it for a warm turn that holds the session's claim (session-state.ts, turn-execution.ts): the
 * turn's start with its state read in the step and its `session.status` (createTurnWithEvents), the agent's turn
 * id with `turn.started` (updateTurnWithEvents), `--events` agent events appended one by one with the claim (each
 * its own commit, as they come ~1 ms apart), and the turn's end with its state read in the step, `turn.completed`
 * and `session.status` (completeTurnWithEvents). Each checkout's SqliteStore on a file of its own, one session
 * claimed by a registered node; windows of `--turns` turns alternate between the two (which goes first alternating
 * too); the thread's CPU (process.cpuUsage: the work is synchronous on this thread) per turn, this - baseline paired
 * per round (median, 95 % CI). Not the gateway's figure: no HTTP, no agent, no EventLog.
 *
 * Usage: npx tsx bench/turn-steps-paired.ts --baseline <checkout> [--built] [--turns N] [--rounds R] [--warmup W]
 *          [--events E]
 *   --turns per window, default 200; --rounds, default 20; --warmup turns of each first, default 500; --events
 *   agent events appended per turn, default 3; --built both stores from their dist/ (`npm run build` first).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type * as StoreModule from '../src/store/sqlite/sqlite-store.js'
import type { SessionStateRead, Store } from '../src/store/store.js'
import { newSession, newTurn, nodeRecord } from '../test/contract/store-contract.js'
import { codeRan, gatewayLoader, thisCheckout } from './gateway-modules.js'
import { loadLine, printMachine } from './machine.js'
import { BenchError, benchArgs, intOption } from './options.js'
import { markdownTable, median, medianCi } from './stats.js'

const { values } = benchArgs({
  options: {
    baseline: { type: 'string' },
    built: { type: 'boolean', default: false },
    turns: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    events: { type: 'string' },
  },
})
if (!values.baseline) throw new BenchError('--baseline <checkout> is required')
const baseline = path.resolve(values.baseline)
const turns = intOption(values.turns, 200, '--turns')
const rounds = intOption(values.rounds, 20, '--rounds')
const warmup = intOption(values.warmup, 500, '--warmup', 0)
const agentEvents = intOption(values.events, 3, '--events', 0)
const built = values.built ?? false

const dir = mkdtempSync(path.join(os.tmpdir(), 'turn-steps-'))

/** One checkout's store with session `ses_1` claimed by node_a, and a function that runs one warm turn's steps. */
async function open(root: string, name: string) {
  const { SqliteStore } = await gatewayLoader(built, root)<typeof StoreModule>('store/sqlite/sqlite-store.js')
  const store: Store = new SqliteStore(path.join(dir, `${name}.db`))
  await store.registerNode(nodeRecord('node_a'))
  await store.createSession(newSession('ses_1'), 'node_a')
  const claim = await store.claimSession('ses_1', 'node_a')
  let n = 0
  const turn = async () => {
    const id = `turn_${++n}`
    const at = new Date().toISOString()
    const status = (s: string) => ({ type: 'session.status', status: s }) as never
    await store.createTurnWithEvents(
      newTurn(id, 'ses_1', { status: 'running' }),
      claim,
      (read: SessionStateRead) => (read.status === 'running' ? undefined : { status: 'running', at }),
      (step) => (step?.status ? [{ ownerId: 'ses_1', event: status(step.status), at, fence: claim }] : []),
    )
    await store.updateTurnWithEvents(id, { agentTurnId: `agent_${n}` }, undefined, claim, () => [
      { ownerId: 'ses_1', event: { type: 'turn.started', turnId: id } as never, at, fence: claim },
    ])
    for (let i = 0; i < agentEvents; i++)
      await store.appendEvent(
        'ses_1',
        {
          type: 'item.completed',
          turnId: id,
          item: { id: `m${i}`, type: 'agent_message', text: 'ok' },
        } as never,
        at,
        claim,
      )
    await store.completeTurnWithEvents(
      id,
      { status: 'completed', finishedAt: at },
      at,
      (read: SessionStateRead) => (read.pendingApproval ? 'waiting_for_approval' : 'idle'),
      claim,
      (step) => [
        {
          ownerId: 'ses_1',
          event: { type: 'turn.completed', turnId: id, status: 'completed' } as never,
          at,
          fence: claim,
        },
        ...(step?.status ? [{ ownerId: 'ses_1', event: status(step.status), at, fence: claim }] : []),
      ],
    )
  }
  return { store, turn }
}

/** CPU µs per turn over a window of `turns` turns. */
async function window(turn: () => Promise<void>): Promise<number> {
  const t0 = process.cpuUsage()
  for (let i = 0; i < turns; i++) await turn()
  const used = process.cpuUsage(t0)
  return (used.user + used.system) / turns
}

printMachine()
console.log(loadLine('at the start'))
console.log(
  `runs:    ${warmup} warm-up turns of each store, then ${rounds} rounds of a window of ${turns} turns of each ` +
    `(which first alternates), ${agentEvents} agent events a turn; this ${thisCheckout}, the baseline ` +
    `${baseline}, both from ${codeRan(built)}`,
)
const mine = await open(thisCheckout, 'this')
const base = await open(baseline, 'base')
for (let i = 0; i < warmup; i++) {
  await mine.turn()
  await base.turn()
}
const ofThis: number[] = []
const ofBase: number[] = []
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? [mine, base] : [base, mine]
  const [first, second] = [await window(order[0]!.turn), await window(order[1]!.turn)]
  ofThis.push(order[0] === mine ? first : second)
  ofBase.push(order[0] === mine ? second : first)
}
const diffs = ofThis.map((t, i) => t - ofBase[i]!)
const ci = medianCi(diffs)
const fmt = (us: number) => us.toFixed(1)
console.log(
  `\n${markdownTable(
    [
      ['µs of CPU per turn', 'this (median)', 'baseline (median)', 'this - baseline, paired', '95 % CI'],
      [
        'store steps',
        fmt(median(ofThis)),
        fmt(median(ofBase)),
        fmt(median(diffs)),
        ci ? `${fmt(ci[0])} .. ${fmt(ci[1])}` : 'n/a',
      ],
    ],
    [false, true, true, true, false],
  )}`,
)
console.log(`\nper round, this / baseline: ${ofThis.map((t, i) => `${fmt(t)}/${fmt(ofBase[i]!)}`).join(' ')}`)
console.log(loadLine('at the end'))
await mine.store.close()
await base.store.close()
rmSync(dir, { recursive: true, force: true })
