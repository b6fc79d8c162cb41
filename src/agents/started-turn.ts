/**
 * A one-shot run's turn started before the run's session is announced: the turn's first event is asked for at
 * once, so the agent's request (`turn/start`, `session/prompt`) goes out while the reader stores `announce`
 * (the run's `agent.session`), which is yielded first, then the turn's events. A reader that stops early,
 * at `announce` too, ends the turn (its `return()`: the turn is interrupted or cancelled) before it goes on.
 */
export async function* startedTurn<A, T>(announce: A, turn: AsyncIterable<T>): AsyncGenerator<A | T> {
  const events = turn[Symbol.asyncIterator]()
  const first = events.next()
  // a reader that stops at `announce` never awaits it
  first.catch(() => {})
  let done = false
  try {
    yield announce
    for (let next = await first; !next.done; next = await events.next()) yield next.value
    done = true
  } finally {
    if (!done) await events.return?.(undefined)
  }
}
