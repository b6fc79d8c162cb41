/**
 * What grew between two V8 heap snapshots (`npx tsx bench/heap-diff.ts before.heapsnapshot after.heapsnapshot [N]`):
 * the nodes' shallow sizes and counts summed per kind (an object's constructor, a closure's function name, an
 * array's role; strings by their type), the rows that grew most first. With N (e.g. the subscribers added between the
 * two), also per one of them. Snapshots come from `bench/event-relay.ts --heap-snapshots <dir>` or
 * `v8.writeHeapSnapshot()`.
 */
import { readFileSync } from 'node:fs'
import { BenchError, benchArgs } from './options.js'
import { markdownTable } from './stats.js'

interface Totals {
  count: number
  bytes: number
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: (string | string[])[] } }
  nodes: number[]
  strings: string[]
}

const byString = new Set(['string', 'concatenated string', 'sliced string', 'number', 'bigint'])

/** Shallow bytes and node counts per kind. */
function totals(file: string): Map<string, Totals> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0] as string[]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const out = new Map<string, Totals>()
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? '?'
    const name = snap.strings[snap.nodes[i + nameAt]!] ?? ''
    const key = byString.has(type) ? `(${type})` : `${type}: ${name.slice(0, 60)}`
    const t = out.get(key) ?? { count: 0, bytes: 0 }
    t.count++
    t.bytes += snap.nodes[i + sizeAt]!
    out.set(key, t)
  }
  return out
}

function main(): void {
  const { positionals } = benchArgs({ allowPositionals: true, options: {} })
  const [beforeFile, afterFile, rawN] = positionals
  if (!beforeFile || !afterFile) throw new BenchError('usage: heap-diff.ts <before> <after> [N]')
  const n = rawN === undefined ? 1 : Number(rawN)
  if (!Number.isInteger(n) || n < 1) throw new BenchError(`N must be a positive integer, got "${rawN}"`)
  const before = totals(beforeFile)
  const after = totals(afterFile)
  const keys = new Set([...before.keys(), ...after.keys()])
  const rows = [...keys]
    .map((key) => {
      const b = before.get(key) ?? { count: 0, bytes: 0 }
      const a = after.get(key) ?? { count: 0, bytes: 0 }
      return { key, count: a.count - b.count, bytes: a.bytes - b.bytes }
    })
    .sort((x, y) => y.bytes - x.bytes)
  const total = rows.reduce((s, r) => s + r.bytes, 0)
  const per = (v: number) => (v / n).toFixed(1)
  console.log(
    `heap grew by ${(total / 1024).toFixed(1)} KB in all, ${(total / 1024 / n).toFixed(2)} KB per one of ${n}\n`,
  )
  const table = [['kind', 'count +', 'KB +', 'count per one', 'bytes per one']]
  for (const r of rows.slice(0, 40))
    table.push([r.key, String(r.count), (r.bytes / 1024).toFixed(1), per(r.count), per(r.bytes)])
  console.log(markdownTable(table, [false, true, true, true, true]))
}

try {
  main()
} catch (err) {
  if (!(err instanceof BenchError)) throw err
  console.error(err.message)
  process.exit(2)
}
