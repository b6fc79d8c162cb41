/**
 * `attempt`, and again after each of `delaysMs` while it fails; undefined once the last attempt failed. `failed`
 * hears each failure with the wait before the next attempt (undefined after the last); an error `final` says is
 * no failure to try again (an answer) is thrown at once. The waits hold no process open.
 */
export async function retried<T>(
  attempt: () => Promise<T>,
  delaysMs: readonly number[],
  on: { final(err: unknown): boolean; failed(err: unknown, retryInMs: number | undefined): void },
): Promise<T | undefined> {
  return retryLoop(attempt, on.failed, (err, i) => {
    if (on.final(err)) throw err
    return delaysMs[i]
  })
}

/**
 * `attempt`, again after each of `delaysMs` while it fails, then again after the last delay for as long as
 * `keepTrying` says so (of that failure's error: asked after the failure and again when the wait is over, so a
 * stop meanwhile is no attempt more); undefined once it said no. `failed` hears each failure with the wait before
 * the next attempt (undefined when it gives up after the failure). `delay` waits (a WakeSignal's may end a wait
 * early); without it the waits are timers. The waits hold no process open.
 */
export async function retriedWhile<T>(
  attempt: () => Promise<T>,
  delaysMs: readonly number[],
  on: {
    keepTrying(err: unknown): boolean
    failed(err: unknown, retryInMs: number | undefined): void
    delay?: (ms: number) => Promise<void>
  },
): Promise<T | undefined> {
  return retryLoop(
    attempt,
    on.failed,
    (err, i) => (on.keepTrying(err) ? delaysMs[Math.min(i, delaysMs.length - 1)] : undefined),
    on.keepTrying,
    on.delay,
  )
}

/**
 * `attempt` until it succeeds or `waitAfter` (of the i-th failure) gives no wait, or `stillWanted` (of that failure)
 * says no once the wait (`delay`) is over; `waitAfter` may throw.
 */
async function retryLoop<T>(
  attempt: () => Promise<T>,
  failed: (err: unknown, retryInMs: number | undefined) => void,
  waitAfter: (err: unknown, i: number) => number | undefined,
  stillWanted: (err: unknown) => boolean = () => true,
  delay: (ms: number) => Promise<void> = timer,
): Promise<T | undefined> {
  for (let i = 0; ; i++) {
    try {
      return await attempt()
    } catch (err) {
      const wait = waitAfter(err, i)
      failed(err, wait)
      if (wait === undefined) return undefined
      await delay(wait)
      if (!stillWanted(err)) return undefined
    }
  }
}

const timer = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref()
  })
