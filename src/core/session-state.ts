import type { Session, Turn } from '../protocol/sessions.js'
import type { Store } from '../store/store.js'
import type { EventLog } from './event-log.js'

/**
 * A session's state (idle, running, waiting_for_approval, archived) as stored and announced on its events, and
 * the turns that end without running to their end (archived, their node lost).
 */
export class SessionState {
  constructor(
    private readonly store: Store,
    private readonly log: EventLog,
    /** Whether a turn of the session is running in this process now. */
    private readonly running: (sessionId: string) => boolean,
  ) {}

  async set(id: string, status: Session['status']): Promise<void> {
    await this.store.updateSession(id, { status, updatedAt: new Date().toISOString() })
    await this.log.append(id, { type: 'session.status', status })
  }

  /** Recomputes and records the session's state when it changed. */
  async refresh(id: string): Promise<void> {
    const session = await this.store.getSession(id)
    if (!session || session.status === 'archived') return
    const pending = (await this.store.listApprovals({ state: 'pending', sessionId: id, limit: 1 })).length > 0
    const next = pending ? 'waiting_for_approval' : this.running(id) ? 'running' : 'idle'
    if (next !== session.status) await this.set(id, next)
  }

  /** Records a turn as ended from outside (failed or interrupted) and announces its end. */
  async endTurn(sessionId: string, turnId: string, patch: Partial<Turn>): Promise<void> {
    await this.store.updateTurn(turnId, { ...patch, finishedAt: new Date().toISOString() })
    if (patch.status === 'failed')
      await this.log.append(sessionId, { type: 'turn.failed', turnId, error: patch.error ?? 'failed' })
    if (patch.status === 'interrupted')
      await this.log.append(sessionId, { type: 'turn.completed', turnId, status: 'interrupted', usage: null })
  }
}
