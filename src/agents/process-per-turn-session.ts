import { AppError } from '../protocol/errors.js'
import type { AgentSession } from './session.js'

/**
 * What sessions whose every turn is one agent process share when the agent can neither steer nor fork
 * (copilot, gemini): interrupt ends the running turn's process; steer and fork are refused.
 */
export abstract class ProcessPerTurnSession {
  /** The running turn's controller: aborting it ends that turn's process. */
  protected current: AbortController | undefined

  constructor(private readonly agentName: string) {}

  async steer(): Promise<void> {
    throw new AppError(
      'conflict',
      `${this.agentName} cannot add input to a running turn; queue a new turn instead`,
    )
  }

  async interrupt(): Promise<void> {
    this.current?.abort('cancelled')
  }

  async fork(): Promise<AgentSession> {
    throw new AppError('invalid_request', `${this.agentName} sessions cannot be forked`)
  }
}
