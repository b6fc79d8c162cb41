import { randomFillSync } from 'node:crypto'

/** Random bytes per id. */
const randomPart = 5
/**
 * The CSPRNG's bytes for the next 256 ids, drawn in one call: a call per id (`randomBytes(5)`) cost ~50 µs of a
 * warm session turn before its `turn/start` (docs/benchmarks.md, "Issue 14, session 16"). Node's randomUUID keeps
 * such a cache too.
 */
const pool = Buffer.alloc(randomPart * 256)
let used = pool.length

/** Time-sortable ids (`run_…`, `ses_…`, `turn_…`, `apr_…`): creation order is id order, which cursors rely on. */
export function newId(prefix: string): string {
  if (used === pool.length) {
    randomFillSync(pool)
    used = 0
  }
  const random = pool.toString('hex', used, used + randomPart)
  used += randomPart
  return `${prefix}_${Date.now().toString(36).padStart(10, '0')}${random}`
}
