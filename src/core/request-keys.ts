import { createHash } from 'node:crypto'
import { AppError } from '../protocol/errors.js'
import type { Store } from '../store/store.js'
import { newId } from './ids.js'

/**
 * How long a held key's request may take to store what it makes. A hold older than this whose run, session or turn is
 * not stored belongs to a request that failed without letting go (the store down when it failed, or its node
 * gone): a retry with the same key and body takes it over. Before, such a key answered 409 until
 * IDEMPOTENCY_KEY_TTL passed.
 */
export const keyInFlightMs = 30_000

/** What a request with an Idempotency-Key makes: its ids' prefix, how to read one, how to make one. */
export interface KeyedMaking<T> {
  /** The prefix of the ids of what it makes (ids.ts): `run`, `ses`, `turn`. */
  prefix: 'run' | 'ses' | 'turn'
  /** What was made under `id`, once stored; undefined before. */
  load(id: string): Promise<T | undefined>
  /** Makes it under `id` (chosen here, so that a retry taking over a lost request's key makes it under that id). */
  make(id: string): Promise<T>
}

/**
 * A request with an Idempotency-Key (`POST /v1/runs`, `POST /v1/sessions`, `POST /v1/sessions/:id/turns`): the first
 * request with the key (per tenant) holds it for the run, session or turn it makes, in the store (so every node of a
 * cluster sees it), for `keptMs` (IDEMPOTENCY_KEY_TTL); a request with the same key and the same `digest`
 * (requestDigest) gets what it made again (`replayed`), whatever became of the first request (a 503 at its run's
 * send included: its run was stored); with another digest (another body, or another route or session: a key is the
 * tenant's, across routes), 409 `conflict`. While the first request is still storing what it makes, 409 `conflict`
 * with Retry-After. A first request whose making was not stored (refused: 400, 404, 409, 429) lets go of the key;
 * one that could not (the store down) leaves a hold that a retry takes over after keyInFlightMs, keeping its id, so
 * that one run, session or turn at most is stored for the key. Expired holds (of every key) are deleted at each new
 * hold. `store`: the tenant's view (tenant-store.ts), which keeps each tenant's keys apart.
 */
export async function makeOnce<T>(
  store: Store,
  key: string,
  digest: string,
  keptMs: number,
  making: KeyedMaking<T>,
): Promise<{ made: T; replayed: boolean }> {
  const now = Date.now()
  const at = new Date(now).toISOString()
  let id = newId(making.prefix)
  const held = await store.holdRequestKey(
    null,
    key,
    { resourceId: id, digest },
    at,
    new Date(now - keptMs).toISOString(),
  )
  if (held) {
    if (held.digest !== digest)
      throw new AppError(
        'conflict',
        `Idempotency-Key '${key}' was used for another request (${nounOf(held.resourceId)} ${held.resourceId}) with another body: use a new key for a new request`,
        { reason: 'idempotency_key_reused', [`${nounOf(held.resourceId)}Id`]: held.resourceId },
      )
    const made = await making.load(held.resourceId)
    if (made) return { made, replayed: true }
    const lost = now - Date.parse(held.at) >= keyInFlightMs
    if (!lost || !(await store.retakeRequestKey(null, key, held, at)))
      throw new AppError(
        'conflict',
        `a request with Idempotency-Key '${key}' is still being answered: retry it shortly`,
        { reason: 'idempotency_key_in_use', retryAfterSeconds: 1 },
      )
    id = held.resourceId
  }
  try {
    return { made: await making.make(id), replayed: false }
  } catch (err) {
    // nothing stored (refused before it was): the key may be used again; a run stored (the send's 503) keeps it;
    // the store not answering: the hold stays, and a retry takes it over once keyInFlightMs has passed
    const stored = await making.load(id).catch(() => true)
    if (!stored) await store.releaseRequestKey(null, key, id).catch(() => {})
    throw err
  }
}

/** What a held id names, for errors: `run`, `session` or `turn` (from its prefix). */
function nounOf(id: string): 'run' | 'session' | 'turn' {
  if (id.startsWith('ses_')) return 'session'
  return id.startsWith('turn_') ? 'turn' : 'run'
}

/**
 * A request's digest: its body as JSON with every object's keys sorted, so their order does not matter; with its
 * `route` before it but for `POST /v1/runs` (whose keys, held before other routes took one, have none), so that a
 * key used on one route is another body on another.
 */
export function requestDigest(body: unknown, route?: string): string {
  return createHash('sha256')
    .update(route ? `${route}\n` : '')
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
