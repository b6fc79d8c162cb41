import { retriedWhile } from '../util/retried.js'
import type { StoreNotices } from './ops/store-notices.js'

/**
 * How long the gateway waits before each new attempt to record a run's or a turn's end that the store failed (its
 * disk full, its database down); the last wait repeats until the end is stored or the gateway stops. Meanwhile
 * the run holds its slot and its followers wait: once the store takes writes again they get the end, without a
 * restart. A stop gives up (the next start records the end: run-recovery.ts, session-recovery.ts).
 */
export const endRetryMs: readonly number[] = [200, 1000, 3000, 10_000]

export interface EndRetry {
  notices?: StoreNotices
  /** endRetryMs unless a test says otherwise. */
  retryMs?: readonly number[]
}

/** `record` (an end's store step), again while it fails and `keepTrying` says so of its error; false once it gave up. */
export async function recordEnd(
  record: () => Promise<unknown>,
  what: { name: string; ids: Record<string, string> },
  keepTrying: (err: unknown) => boolean,
  retry: EndRetry = {},
): Promise<boolean> {
  const recorded = async (): Promise<true> => {
    await record()
    return true
  }
  const done = await retriedWhile(recorded, retry.retryMs ?? endRetryMs, {
    keepTrying,
    failed: (err, retryInMs) => retry.notices?.endFailed(what.name, what.ids, err, retryInMs),
  })
  return done === true
}
