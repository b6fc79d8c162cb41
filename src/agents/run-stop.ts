import { abortReason } from '../process/runner.js'
import type { EndReason } from '../protocol/outcome.js'

/**
 * What ends a run that has no process of its own (a warm run on a shared agent process): the caller's
 * signal (its reason kept) or the run's timeout (`timed_out`). `dispose()` once the run ended.
 */
export function runStop(
  signal: AbortSignal,
  timeoutMs: number | null | undefined,
): { signal: AbortSignal; dispose: () => void } {
  const stop = new AbortController()
  const onAbort = () => stop.abort(abortReason(signal))
  signal.addEventListener('abort', onAbort, { once: true })
  if (signal.aborted) onAbort()
  const timer =
    timeoutMs != null ? setTimeout(() => stop.abort('timed_out' satisfies EndReason), timeoutMs) : undefined
  return {
    signal: stop.signal,
    dispose: () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
    },
  }
}
