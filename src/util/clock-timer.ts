/**
 * Calls `fn` once Date.now() has reached `due` (a time of Date.now()'s clock); returns what cancels it. A timer
 * alone is not enough: it runs on the event loop's clock (milliseconds, truncated), so it may fire a millisecond
 * before Date.now() reaches its end; then this arms another for what is left. Unref'd: it keeps no process alive.
 */
export function atClock(due: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout | undefined
  const arm = () => {
    timer = setTimeout(
      () => {
        if (Date.now() < due) return arm()
        timer = undefined
        fn()
      },
      Math.max(0, due - Date.now()),
    )
    timer.unref()
  }
  arm()
  return () => clearTimeout(timer)
}

/** Resolves once Date.now() has reached `due` (atClock: a timer alone may end a millisecond early). */
export function untilClock(due: number): Promise<void> {
  return new Promise((resolve) => {
    atClock(due, resolve)
  })
}
