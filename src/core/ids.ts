import { randomFillSync } from 'node:crypto'

/** Random bytes per id. */
const randomPart = 5
const randomLimit = 2 ** (randomPart * 8)
/**
 * The CSPRNG's bytes for the next 256 ids, drawn in one call: a call per id (`randomBytes(5)`) cost ~50 µs of a
 * warm session turn before its `turn/start` (docs/benchmarks.md, "Issue 14, session 16"). Node's randomUUID keeps
 * such a cache too.
 */
const pool = Buffer.alloc(randomPart * 256)
let used = pool.length

/** The last id's time and random part: the next one in the same millisecond (or after a clock step back) is above it. */
let lastTime = 0
let lastRandom = 0

function draw(): Buffer {
  if (used === pool.length) {
    randomFillSync(pool)
    used = 0
  }
  const bytes = pool.subarray(used, used + randomPart)
  used += randomPart
  return bytes
}

/**
 * Time-sortable ids (`run_…`, `ses_…`, `turn_…`, `apr_…`): within one process creation order is id order, which
 * cursors and lists in creation order rely on. Ids made in the same millisecond follow the last one by a random step
 * (below 2^16), so they stay hard to guess; a clock stepping back keeps the last time.
 */
export function newId(prefix: string): string {
  const bytes = draw()
  const now = Date.now()
  let time = now
  let random = bytes.readUIntBE(0, randomPart)
  if (now <= lastTime) {
    time = lastTime
    random = lastRandom + 1 + bytes.readUInt16BE(0)
    if (random >= randomLimit) {
      time = lastTime + 1
      random = bytes.readUIntBE(0, randomPart) % 2 ** 32
    }
  }
  lastTime = time
  lastRandom = random
  return `${prefix}_${time.toString(36).padStart(10, '0')}${random.toString(16).padStart(randomPart * 2, '0')}`
}
