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
 * does when its conversation is gone). A reopen that fails fails that turn; the next one tries again. A turn sent
 * in the moment between the process's death and the gateway seeing it (its prompt never reached the agent:
 * AcpSession.unsent) is sent once more, in the same turn, on the session reopened; one the agent got still fails.
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
    const history = this.history
    if (!this.closed && !this.session.usable) {
      const failed = await this.reopened(history)
      if (failed !== undefined) {
        const turnId = randomUUID()
        yield { type: 'turn.started', turnId }
        yield { type: 'turn.failed', turnId, error: `${this.agentName} could not be reopened: ${failed}` }
        return
      }
    }
    this.history = true
    const sent = this.session
    let unsent: { turnId: string; error: string } | undefined
    for await (const ev of sent.turn(input, signal)) {
      if (ev.type === 'turn.failed' && ev.turnId && sent.unsent(ev.turnId) && !this.closed && !signal.aborted)
        unsent = { turnId: ev.turnId, error: ev.error }
      else yield ev
    }
    if (!unsent) return
    // Its process died before the agent got the prompt (the gateway had not seen it end yet): the turn is sent once
    // more, in the same turn, on the session reopened as a later turn would reopen it.
    const failed = await this.reopened(history)
    if (failed !== undefined) {
      const error = `${unsent.error}; ${this.agentName} could not be reopened: ${failed}`
      yield { type: 'turn.failed', turnId: unsent.turnId, error }
      return
    }
    for await (const ev of this.session.turn(input, signal, { turnId: unsent.turnId }))
      if (ev.type !== 'turn.started') yield ev
  }

  /** Reopens the session (one reopen for the turns that find it ended at once); what failed, if it did. */
  private async reopened(history: boolean): Promise<string | undefined> {
    this.reopening ??= this.replace(history).finally(() => {
      this.reopening = undefined
    })
    return this.reopening.then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    )
  }

  /**
   * The session on a new process, in place of the one whose process ended (given back first). `history`: whether
   * a turn ran in it before (a session that never ran one has nothing to lose, as a resume of one starts anew:
   * live-sessions.ts).
   */
  private async replace(history: boolean): Promise<void> {
    const ended = this.session
    await ended.close().catch(() => {})
    this.session = await this.reopen(ended.agentSessionId, history)
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
