import { randomUUID } from 'node:crypto'
import type { AgentEvent } from '../../protocol/events.js'
import type { AgentSession, TurnInput } from '../session.js'
import type { AcpSession } from './acp-session.js'

/**
 * A gateway session's ACP session (`/v1/sessions`), reopened on its next turn when its agent process ended (killed,
 * crashed, out of memory): the turn that ran then failed (AcpSession), and every later one failed too ("ACP
 * connection closed") until the session was unloaded for idleness. `reopen` opens it on a live process: the agent's
 * own `session/load` of it, as a resume after an idle unload does, else (the agent cannot load sessions, or it does
 * not know this one) a new session, whose first turn says so first: an `error` item `context_lost` (as claude's
 * does when its conversation is gone). A reopen that fails fails that turn; the next one tries again.
 */
export class ReopeningAcpSession implements AgentSession {
  private closed = false
  private reopening: Promise<void> | undefined
  constructor(
    private session: AcpSession,
    /** Opens it again on a live process; `history`: whether a new session in its place loses any (says so). */
    private readonly reopen: (loadId: string, history: boolean) => Promise<AcpSession>,
    private readonly agentName: string,
    /** Whether the session has a history (a resumed one; a new one once a turn ran): lost only then. */
    private history: boolean,
  ) {}

  /** The agent's id of the session open now (a new one once the agent could not load the earlier one). */
  get agentSessionId(): string {
    return this.session.agentSessionId
  }

  get pid(): number | undefined {
    return this.session.pid
  }

  async *turn(input: TurnInput, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    if (!this.closed && !this.session.usable) {
      this.reopening ??= this.replace().finally(() => {
        this.reopening = undefined
      })
      const failed = await this.reopening.then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      )
      if (failed !== undefined) {
        const turnId = randomUUID()
        yield { type: 'turn.started', turnId }
        yield { type: 'turn.failed', turnId, error: `${this.agentName} could not be reopened: ${failed}` }
        return
      }
    }
    this.history = true
    yield* this.session.turn(input, signal)
  }

  /** The session on a new process, in place of the one whose process ended (given back first). */
  private async replace(): Promise<void> {
    const ended = this.session
    await ended.close().catch(() => {})
    // a session that never ran a turn has nothing to lose (as a resume of one starts anew: live-sessions.ts)
    this.session = await this.reopen(ended.agentSessionId, this.history)
  }

  steer(): Promise<void> {
    return this.session.steer()
  }

  interrupt(): Promise<void> {
    return this.session.interrupt()
  }

  fork(): Promise<AgentSession> {
    return this.session.fork()
  }

  read(): Promise<unknown> {
    return this.session.read()
  }

  archive(): Promise<void> {
    return this.close()
  }

  async close(): Promise<void> {
    this.closed = true
    // a reopen under way is closed once done, not left open
    await this.reopening?.catch(() => {})
    await this.session.close()
  }
}
