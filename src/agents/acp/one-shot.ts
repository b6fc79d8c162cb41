import type { ProcessOutcome } from '../../process/spawn-group.js'
import type { AgentEvent } from '../../protocol/events.js'
import { endedBecause } from '../../protocol/outcome.js'
import { runStatusOf } from '../process-run.js'

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
  const status = runStatusOf(outcome.reason, turn.ok)
  const error =
    status === 'succeeded'
      ? undefined
      : (endedBecause(outcome.reason) ?? outcome.error ?? turn.error ?? `process ended: ${outcome.reason}`)
  return {
    type: 'run.completed',
    status,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    reason: outcome.reason,
    finalResponse: turn.finalResponse,
    usage: null,
    ...(error ? { error } : {}),
  }
}
