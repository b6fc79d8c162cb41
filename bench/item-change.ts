/**
 * What deciding how an ACP tool call changed costs per update (protocol/item-delta.ts `itemChange`), against the
 * command-only rule it replaced (update-mapper.ts `outputGrowth` before session 14, copied here) and against
 * comparing the whole items as JSON, the delta checked by applying it (the first draft of itemChange). The case: a command whose 200 KB output
 * arrives in 1,000 chunks, each update carrying the whole output so far (what the mapper compares). Rounds
 * alternate the three, so load hits them alike; the median of the rounds is printed.
 *
 *   npx tsx bench/item-change.ts [rounds=9]
 */
import { itemChange } from '../src/protocol/item-delta.js'
import type { Item } from '../src/protocol/items.js'
import { printMachine } from './machine.js'

function outputGrowth(before: Item, after: Item): string | undefined {
  if (before.type !== 'command_execution' || after.type !== 'command_execution') return undefined
  const same =
    before.command === after.command && before.exitCode === after.exitCode && before.status === after.status
  if (!same || !after.aggregatedOutput.startsWith(before.aggregatedOutput)) return undefined
  return after.aggregatedOutput.slice(before.aggregatedOutput.length)
}
/** The first draft: the whole items compared as JSON, and the delta checked by applying it (appendDelta). */
function wholeJson(before: Item, after: Item): unknown {
  const same = (a: Item, b: Item) => JSON.stringify(a) === JSON.stringify(b)
  if (same(before, after)) return 'none'
  if (before.type !== 'command_execution' || after.type !== 'command_execution') return 'updated'
  const delta = after.aggregatedOutput.slice(before.aggregatedOutput.length)
  return same({ ...before, aggregatedOutput: before.aggregatedOutput + delta }, after) ? delta : 'updated'
}

const chunks = 1000
const chunk = `${'x'.repeat(199)}\n`
/** The item after each update, as the mapper builds it (the output flattened once, as outputText leaves it). */
const states: Item[] = []
let output = ''
for (let i = 0; i <= chunks; i++) {
  states.push({
    id: 'call_1',
    type: 'command_execution',
    command: `seq 1 ${chunks}`,
    aggregatedOutput: output,
    exitCode: null,
    status: 'in_progress',
  })
  output = (output + chunk).normalize()
}

function time(compare: (a: Item, b: Item) => unknown): number {
  const t0 = performance.now()
  for (let i = 1; i < states.length; i++) compare(states[i - 1]!, states[i]!)
  return performance.now() - t0
}

const rounds = Number(process.argv[2] ?? 9)
const contenders = { 'outputGrowth (main)': outputGrowth, itemChange, 'whole JSON (draft)': wholeJson }
const times = new Map<string, number[]>(Object.keys(contenders).map((name) => [name, []]))
printMachine()
console.log(`case:    ${chunks} updates of a command, output growing to ${output.length} B; ${rounds} rounds`)
for (let r = 0; r < rounds; r++)
  for (const [name, f] of Object.entries(contenders)) times.get(name)?.push(time(f))
for (const [name, t] of times) {
  const sorted = [...t].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]!
  console.log(
    `${name.padEnd(20)} median ${median.toFixed(1)} ms (min ${sorted[0]!.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)})`,
  )
}
