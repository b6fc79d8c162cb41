import { retriedWhile } from '../util/retried.js'
import type { WakeSignal } from '../util/wake-signal.js'
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
  /**
   * Ends the waits of every end that failed, so each is tried again at once: woken when a write of the store fits
   * again (Store.onSpaceBack: its full-disk mark cleared, or its PostgreSQL server answering again after it was
   * unavailable), and by an end stored after it failed (the store takes writes again, whatever kept it from them).
   * Without it an end waits out its delay (up to 10 s).
   */
  wake?: WakeSignal
}

/** `record` (an end's store step), again while it fails and `keepTrying` says so of its error; false once it gave up. */
export async function recordEnd(
  record: () => Promise<unknown>,
  what: { name: string; ids: Record<string, string> },
  keepTrying: (err: unknown) => boolean,
  retry: EndRetry = {},
): Promise<boolean> {
  let failures = 0
  const recorded = async (): Promise<true> => {
    await record()
    return true
  }
  const { wake } = retry
  const done = await retriedWhile(recorded, retry.retryMs ?? endRetryMs, {
    keepTrying,
    failed: (err, retryInMs) => {
      failures++
      retry.notices?.endFailed(what.name, what.ids, err, retryInMs)
    },
    ...(wake ? { delay: (ms: number) => wake.delay(ms) } : {}),
  })
  // stored after it failed: the other ends waiting for the store are tried again now
  if (done === true && failures > 0) wake?.wake()
  return done === true
}
