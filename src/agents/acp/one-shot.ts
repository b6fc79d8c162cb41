import type { ProcessOutcome } from '../../process/runner.js'
import type { AgentEvent } from '../../protocol/events.js'
import { runCompletedAfter } from '../../protocol/run-completed.js'
import type { RunRequest } from '../driver.js'
import type { TurnInput } from '../session.js'

/** A one-shot run's prompt as its turn's input: the text, then its images (the core's private copies) as files. */
export const runInput = (req: RunRequest): TurnInput => [
  { type: 'text', text: req.prompt },
  ...(req.images ?? []).map((path) => ({ type: 'localImage' as const, path })),
]

export interface OneShotTurn {
  ok: boolean
  error: string | null
  finalResponse: string | null
  /** The turn ended while the agent still ran (the gateway then stopped it). */
  endedByAgent: boolean
}

/**
 * The `run.completed` of a one-shot ACP run. An ACP agent is a server that never exits by itself, so when
 * the turn ended while it ran, the run "exited" with the turn's result (exit code 0 when the prompt ended
 * normally, 1 when it failed) and the gateway's stopping of the process is not the outcome. When the
 * process ended first (timeout, cancel, crash, spawn failure), its real outcome is.
 */
export function acpRunCompleted(real: ProcessOutcome, turn: OneShotTurn): AgentEvent {
  const outcome: ProcessOutcome = turn.endedByAgent
    ? { ...real, exitCode: turn.ok ? 0 : 1, signal: null, reason: 'exited' }
    : real
  return runCompletedAfter(outcome, {
    ok: turn.ok,
    finalResponse: turn.finalResponse,
    usage: null,
    error: outcome.error ?? turn.error ?? undefined,
  })
}
