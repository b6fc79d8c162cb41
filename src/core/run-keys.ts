import { createHash } from 'node:crypto'
import { AppError } from '../protocol/errors.js'
import type { Run } from '../protocol/runs.js'
import type { Store } from '../store/store.js'
import { newId } from './ids.js'

/** How long an Idempotency-Key of `POST /v1/runs` answers with its run: 24 hours from its first request. */
export const runKeyKeptMs = 24 * 60 * 60 * 1000

/**
 * `POST /v1/runs` with an Idempotency-Key: the first request with the key (per tenant) holds it for the run it
 * makes, in the store (so every node of a cluster sees it); a request with the same key and the same body gets that
 * run again (`replayed`), whatever became of the first request (a 503 at its job's send included: its run was
 * stored); with another body, 409 `conflict`. A first request whose run was not stored (refused: 400, 429) lets go
 * of the key. `store`: the tenant's view (tenant-store.ts), which keeps each tenant's keys apart.
 */
export async function submitOnce(
  store: Store,
  key: string,
  digest: string,
  submit: (id: string) => Promise<Run>,
): Promise<{ run: Run; replayed: boolean }> {
  const id = newId('run')
  const now = Date.now()
  const at = new Date(now).toISOString()
  const keptSince = new Date(now - runKeyKeptMs).toISOString()
  const held = await store.holdRunKey(null, key, { runId: id, digest }, at, keptSince)
  if (held) {
    if (held.digest !== digest)
      throw new AppError(
        'conflict',
        `Idempotency-Key '${key}' was used for another request (run ${held.runId}) with another body: use a new key for a new run`,
        { reason: 'idempotency_key_reused', runId: held.runId },
      )
    const run = await store.getRun(held.runId)
    if (!run)
      throw new AppError(
        'conflict',
        `a request with Idempotency-Key '${key}' is still being answered: retry it shortly`,
        { reason: 'idempotency_key_in_use', retryAfterSeconds: 1 },
      )
    return { run, replayed: true }
  }
  try {
    return { run: await submit(id), replayed: false }
  } catch (err) {
    // the run not stored (refused before it was): the key may be used again; a run stored (the send's 503) keeps it
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
