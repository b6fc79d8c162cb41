import { PassThrough, pipeline } from 'node:stream'
import type { EndReason } from '../protocol/outcome.js'
import { drained } from './deferred-child.js'
import { abortReason, type LaunchSpec, type ProcessOutcome, type RunningProcess } from './runner.js'

/**
 * A launch that has to wait for something before it can start (the key proxy's thread, to know its URL): the
 * caller gets a RunningProcess at once, whose stdio are pass-throughs wired to the process's own once `start`
 * ran, after `ready` resolved. Ended before that, it never starts (its outcome says why); `ready` rejecting makes
 * it a `spawn_failed` with that error.
 */
export function deferredProcess(
  spec: Pick<LaunchSpec, 'stdin' | 'signal'>,
  ready: Promise<unknown>,
  start: () => RunningProcess,
): RunningProcess {
  const startedAt = performance.now()
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  // the inner process writes or closes its own stdin as the spec says: only a kept-open one is fed from here
  const keepOpen = typeof spec.stdin === 'object' && spec.stdin !== null && spec.stdin.keepOpen
  if (!keepOpen) stdin.end()
  let proc: RunningProcess | undefined
  let endedEarly: EndReason | undefined
  const ended = (outcome: Partial<ProcessOutcome> & Pick<ProcessOutcome, 'reason'>): ProcessOutcome => {
    stdout.end()
    stderr.end()
    return {
      exitCode: null,
      signal: null,
      durationMs: Math.round(performance.now() - startedAt),
      ...outcome,
    }
  }
  const launched = ready.then(() => {
    if (spec.signal?.aborted) endedEarly ??= abortReason(spec.signal)
    if (endedEarly) return undefined
    proc = start()
    if (keepOpen) {
      proc.stdin.on('error', () => {})
      stdin.pipe(proc.stdin)
    }
    pipeline(proc.stdout, stdout, () => {})
    pipeline(proc.stderr, stderr, () => {})
    return proc
  })
  const done = launched.then(
    async (p) => {
      if (!p) return ended({ reason: endedEarly ?? 'cancelled' })
      const outcome = await p.done
      await Promise.all([drained(stdout, p.done), drained(stderr, p.done)])
      return outcome
    },
    (err: Error) => ended({ reason: 'spawn_failed', error: err.message }),
  )
  return {
    get pid() {
      return proc?.pid
    },
    started: launched.then(
      (p) => p?.started,
      () => undefined,
    ),
    stdin,
    stdout,
    stderr,
    done,
    terminate(reason) {
      if (proc) proc.terminate(reason)
      else endedEarly ??= reason
    },
    endEscaped(scope) {
      return proc?.endEscaped?.(scope) ?? Promise.resolve()
    },
    lent(provider) {
      return proc?.lent?.(provider)
    },
  }
}
