import { createHash } from 'node:crypto'
import { AppError } from '../protocol/errors.js'
import type { Run } from '../protocol/runs.js'
import type { Store } from '../store/store.js'
import { newId } from './ids.js'

/**
 * How long a held key's request may take to store its run. A hold older than this whose run is not stored belongs
 * to a request that failed without letting go (the store down when it failed, or its node gone): a retry with the
 * same key and body takes it over. Before, such a key answered 409 until IDEMPOTENCY_KEY_TTL passed.
 */
export const runKeyInFlightMs = 30_000

/**
 * `POST /v1/runs` with an Idempotency-Key: the first request with the key (per tenant) holds it for the run it
 * makes, in the store (so every node of a cluster sees it), for `keptMs` (IDEMPOTENCY_KEY_TTL); a request with the
 * same key and the same body gets that run again (`replayed`), whatever became of the first request (a 503 at its
 * job's send included: its run was stored); with another body, 409 `conflict`. While the first request is still
 * storing its run, 409 `conflict` with Retry-After. A first request whose run was not stored (refused: 400, 429)
 * lets go of the key; one that could not (the store down) leaves a hold that a retry takes over after
 * runKeyInFlightMs, keeping its run id, so that one run at most is stored for the key. Expired holds (of every key)
 * are deleted at each new hold. `store`: the tenant's view (tenant-store.ts), which keeps each tenant's keys apart.
 */
export async function submitOnce(
  store: Store,
  key: string,
  digest: string,
  keptMs: number,
  submit: (id: string) => Promise<Run>,
): Promise<{ run: Run; replayed: boolean }> {
  const now = Date.now()
  const at = new Date(now).toISOString()
  let id = newId('run')
  const held = await store.holdRunKey(
    null,
    key,
    { runId: id, digest },
    at,
    new Date(now - keptMs).toISOString(),
  )
  if (held) {
    if (held.digest !== digest)
      throw new AppError(
        'conflict',
        `Idempotency-Key '${key}' was used for another request (run ${held.runId}) with another body: use a new key for a new run`,
        { reason: 'idempotency_key_reused', runId: held.runId },
      )
    const run = await store.getRun(held.runId)
    if (run) return { run, replayed: true }
    const lost = now - Date.parse(held.at) >= runKeyInFlightMs
    if (!lost || !(await store.retakeRunKey(null, key, held, at)))
      throw new AppError(
        'conflict',
        `a request with Idempotency-Key '${key}' is still being answered: retry it shortly`,
        { reason: 'idempotency_key_in_use', retryAfterSeconds: 1 },
      )
    id = held.runId
  }
  try {
    return { run: await submit(id), replayed: false }
  } catch (err) {
    // the run not stored (refused before it was): the key may be used again; a run stored (the send's 503) keeps
    // it; the store not answering: the hold stays, and a retry takes it over once runKeyInFlightMs has passed
    const stored = await store.getRun(id).catch(() => true)
    if (!stored) await store.releaseRunKey(null, key, id).catch(() => {})
    throw err
  }
}

/** A run request's digest: its body as JSON with every object's keys sorted, so their order does not matter. */
export function runRequestDigest(body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(sorted(body)))
    .digest('hex')
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
  )
}
