/**
 * Where a V8 CPU profile's time went (`npx tsx bench/cpu-profile-summary.ts <file.cpuprofile>... [--per N] [--top K]`).
 *
 * Reads one or more .cpuprofile files (bench/turn-cpu.ts --cpu-prof, session-turns.ts --cpu-prof, node --cpu-prof),
 * sums their samples and prints, in ms (per unit with `--per N`, e.g. the number of turns the profiles cover):
 *   self      the functions with the most self time (name, file:line);
 *   gateway   each sample given to the deepest frame in the gateway's own code (src/ or dist/, not node_modules):
 *             that frame's function, so a library's or Node's work is charged to the gateway code that called it;
 *             samples with no gateway frame on their stack go to their deepest frame's file (GC, microtasks, ...);
 *   files     the same, per gateway file;
 *   inclusive the functions with the most total time (each function counted once per sample).
 * `--top` rows of each list, default 40; `--within <regex>` counts only the samples with a frame whose
 * "function file:line" matches (and charges them to the nearest gateway frame above the match).
 * `--weight delta` (default) gives each sample the time to the next one, as DevTools does; `--weight count` gives
 * every sample the same share (the profile's mean), for a profile taken on a loaded machine, where a preempted
 * thread's wait goes to whatever frame was sampled before it (bench/profile-weights.ts). The header says how far
 * apart the samples came against the profile's own interval: far apart, read `count`. Not a test.
 */
import { readFileSync } from 'node:fs'
import { BenchError, benchArgs, intOption } from './options.js'
import { type SampleWeighting, sampleWeightings, sampleWeights } from './profile-weights.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const { values, positionals } = benchArgs({
  options: {
    per: { type: 'string' },
    top: { type: 'string' },
    within: { type: 'string' },
    weight: { type: 'string' },
  },
  allowPositionals: true,
})
if (positionals.length === 0) throw new BenchError('give one or more .cpuprofile files')
const per = intOption(values.per, 1, '--per')
const top = intOption(values.top, 40, '--top')
/** Only the samples with a frame whose label matches (`--within zod`: the time under zod's functions). */
const within = values.within ? new RegExp(values.within) : undefined
const weighting = (values.weight ?? 'delta') as SampleWeighting
if (!sampleWeightings.includes(weighting))
  throw new BenchError(`--weight: ${sampleWeightings.join(' or ')}, not ${values.weight}`)

function shortUrl(url: string): string {
  const i = url.search(/\/(src|dist|node_modules)\//)
  return i >= 0 ? url.slice(i + 1) : url.replace(/^node:/, '') || '(native)'
}
const isGateway = (url: string) => /\/(src|dist)\//.test(url) && !url.includes('/node_modules/')
const label = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`

const self = new Map<string, number>()
const gateway = new Map<string, number>()
const files = new Map<string, number>()
const inclusive = new Map<string, number>()
let totalUs = 0
let samplesCounted = 0
let gapsUs = 0
let intervalUs = 0
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v)

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const idle = (i: number) => byId.get(profile.samples[i]!)!.callFrame.functionName === '(idle)'
  const weights = sampleWeights(profile, weighting, (i) => !idle(i))
  // the profile's own interval: the smallest deltas it kept to (the median of the lowest tenth)
  const sorted = profile.timeDeltas.filter((d) => d > 0).sort((a, b) => a - b)
  intervalUs = Math.max(intervalUs, sorted[Math.floor(sorted.length / 20)] ?? 0)
  for (let i = 0; i < profile.samples.length; i++) {
    const us = weights[i]!
    const leaf = byId.get(profile.samples[i]!)!
    if (leaf.callFrame.functionName === '(idle)' || leaf.callFrame.functionName === '(program)') {
      if (leaf.callFrame.functionName === '(idle)') continue
    }
    const stack: ProfileNode[] = []
    for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) stack.push(n)
    let from = 0
    if (within) {
      from = stack.findIndex((n) => within.test(label(n)))
      if (from < 0) continue
      while (from + 1 < stack.length && within.test(label(stack[from + 1]!))) from++
    }
    totalUs += us
    samplesCounted++
    gapsUs += profile.timeDeltas[i + 1] ?? 0
    add(self, label(leaf), us)
    let owner: ProfileNode | undefined
    const seen = new Set<string>()
    for (const [i, n] of stack.entries()) {
      const l = label(n)
      if (!seen.has(l)) {
        seen.add(l)
        add(inclusive, l, us)
      }
      if (!owner && i >= from && isGateway(n.callFrame.url)) owner = n
    }
    if (owner) {
      add(gateway, label(owner), us)
      add(files, shortUrl(owner.callFrame.url), us)
    } else {
      const k = `(no gateway frame) ${leaf.callFrame.functionName || shortUrl(leaf.callFrame.url)}`
      add(gateway, k, us)
      add(files, '(no gateway frame)', us)
    }
  }
}

const ms = (us: number) => (us / 1000 / per).toFixed(3)
function print(title: string, m: Map<string, number>): void {
  console.log(`\n${title}`)
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${ms(v).padStart(8)}  ${((100 * v) / totalUs).toFixed(1).padStart(5)} %  ${k}`)
}
console.log(`sampled (idle excluded): ${ms(totalUs)} ms${per > 1 ? ` per unit (${per})` : ''}`)
console.log(
  `samples: ${samplesCounted}, ${(gapsUs / Math.max(1, samplesCounted)).toFixed(0)} µs apart on average (the profile's interval ~${intervalUs.toFixed(0)} µs); weighted by ${weighting}${weighting === 'delta' ? ' (far apart: a loaded machine, try --weight count)' : ''}`,
)
print('self', self)
print('gateway (deepest gateway frame)', gateway)
print('files (deepest gateway frame)', files)
print('inclusive', inclusive)
