import type { AgentEvent } from '../protocol/events.js'

/** A long-lived agent's turn as its driver keeps it (codex `TurnRun`, ACP `AcpTurn`). */
export interface DriverTurn {
  readonly events: AsyncIterable<AgentEvent>
  readonly isFinished: boolean
  fail(error: string): void
}

export interface TurnRelayHooks {
  /** Asks the agent to stop the turn: on the signal's abort, and when the reader stops before the end. */
  stop(): void
  /**
   * The turn is over for its reader. `sweep`: it ran commands or did not complete, so commands that left the
   * agent's process tree may be running (a plain completed text turn costs no /proc scan, unless its agent starts
   * sandboxed helpers of its own: turn-directories.ts). Awaited before the turn's generator returns, so the turn's
   * end is stored (a warm run's `run.completed` yielded) once what it left is gone.
   */
  ended(sweep: boolean): Promise<void> | void
}

/**
 * Yields a started turn's events to the session's reader until the turn ends. A reader that stops early stops
 * the turn and fails it: the agent must not go on unobserved.
 */
export async function* relayTurn(
  turn: DriverTurn,
  signal: AbortSignal,
  hooks: TurnRelayHooks,
): AsyncGenerator<AgentEvent> {
  const onAbort = () => hooks.stop()
  if (signal.aborted) onAbort()
  else signal.addEventListener('abort', onAbort, { once: true })
  let ranCommands = false
  let completed = false
  try {
    for await (const ev of turn.events) {
      if (ev.type === 'item.started' && ev.item.type === 'command_execution') ranCommands = true
      else if (ev.type === 'turn.completed' && ev.status === 'completed') completed = true
      yield ev
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
    if (!turn.isFinished) {
      hooks.stop()
      turn.fail('the turn was abandoned by its reader')
    }
    await hooks.ended(ranCommands || !completed)
  }
}
