import {
  type AgentEvent,
  assertNever,
  isWorkEvent,
  type RunCompletedEvent,
  type TurnCompletedEvent,
  type TurnFailedEvent,
} from '../protocol/events.js'

/**
 * Sessions of agents that run one process per turn (claude, gemini, copilot): how an event of that run takes
 * part in the turn. The adapter decides the turn's own start and end; everything else passes through.
 */
export type RunEventInTurn =
  | { role: 'process-started' }
  | { role: 'agent-turn-end'; event: TurnCompletedEvent | TurnFailedEvent }
  | { role: 'agent-session'; agentSessionId: string }
  | { role: 'run-ended'; event: RunCompletedEvent }
  | { role: 'dropped' }
  | { role: 'content'; event: AgentEvent }

export function runEventInTurn(ev: AgentEvent): RunEventInTurn {
  if (isWorkEvent(ev)) return { role: 'content', event: ev }
  switch (ev.type) {
    case 'run.started':
      return { role: 'process-started' }
    case 'run.queued':
    case 'turn.started':
    // the gateway's own record of a steer (or of its refusal, its failure), never an agent's
    case 'turn.steered':
    case 'turn.steer_refused':
    case 'turn.steer_failed':
      return { role: 'dropped' }
    case 'turn.completed':
    case 'turn.failed':
      return { role: 'agent-turn-end', event: ev }
    case 'agent.session':
      return { role: 'agent-session', agentSessionId: ev.agentSessionId }
    case 'run.completed':
      return { role: 'run-ended', event: ev }
    case 'session.status':
      return { role: 'content', event: ev }
    default:
      return assertNever(ev, 'event type')
  }
}

/**
 * The turn's one terminal event from how its process ended; `agentEnd` is the agent's own turn result line,
 * preferred when the run succeeded (it carries the agent's usage) or failed (its error).
 */
export function turnEndOf(
  done: RunCompletedEvent,
  agent: string,
  agentEnd?: TurnCompletedEvent | TurnFailedEvent,
): TurnCompletedEvent | TurnFailedEvent {
  if (done.status === 'succeeded')
    return agentEnd?.type === 'turn.completed'
      ? agentEnd
      : { type: 'turn.completed', status: 'completed', usage: done.usage }
  if (done.status === 'cancelled' || done.status === 'interrupted')
    return { type: 'turn.completed', status: 'interrupted', usage: done.usage }
  const agentError = agentEnd?.type === 'turn.failed' ? agentEnd.error : undefined
  return { type: 'turn.failed', error: done.error ?? agentError ?? `${agent} ended: ${done.reason}` }
}
