import type { Session, Turn } from '../protocol/sessions.js'
import type { Store } from '../store/store.js'
import type { EventLog } from './event-log.js'

/** A state stored, and its announcement on the session's events, stored once `announced` resolves. */
export interface StateChange {
  announced: Promise<unknown>
}

const unchanged: StateChange = { announced: Promise.resolve() }

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
    await (await this.record(id, status)).announced
  }

  /** Recomputes and records the session's state when it changed. */
  async refresh(id: string): Promise<void> {
    await (await this.update(id)).announced
  }

  /**
   * Like `refresh`, but resolves once the new state is stored, with its `session.status` event queued on the
   * log: stored after every event appended before it and before every event appended after it (the log keeps
   * the order), so a turn goes on without waiting for that commit.
   */
  async update(id: string): Promise<StateChange> {
    const next = await this.next(id, this.running(id))
    return next ? this.record(id, next) : unchanged
  }

  /**
   * A queued turn starts: `patch` (running, startedAt) is stored with the session's new state in one step, and
   * that state's announcement queued (see `update`).
   */
  async startTurn(id: string, turnId: string, patch: Partial<Turn>): Promise<StateChange> {
    const next = await this.next(id, this.running(id))
    const step = await this.store.updateTurn(
      turnId,
      patch,
      next && { status: next, at: new Date().toISOString() },
    )
    // what the store wrote: not `next` when an archive landed since it was read
    return step?.status ? this.announce(id, step.status) : unchanged
  }

  /**
   * The running turn ends: its end (`patch`) is stored with the state the session goes to (waiting for an
   * approval, or idle) in one step (Store.completeTurn); `ended` runs as soon as that is stored (the turn no
   * longer counts as running; its end event is queued first), then the state's announcement is queued (see
   * `update`). Only the state the store wrote is announced: an archive that landed since the read stays.
   */
  async completeTurn(
    id: string,
    turnId: string,
    patch: Partial<Turn>,
    at: string,
    ended: () => void,
  ): Promise<{ turn: Turn | undefined; state: StateChange }> {
    const next = await this.next(id, false)
    const step = await this.store.completeTurn(turnId, patch, at, next)
    ended()
    return { turn: step?.turn, state: step?.status ? this.announce(id, step.status) : unchanged }
  }

  /** Queues the `session.status` event of a state already stored (see `update`). */
  private announce(id: string, status: Session['status']): StateChange {
    const announced = this.log.append(id, { type: 'session.status', status })
    // awaited later (a store failure surfaces there), not unhandled in between
    announced.catch(() => {})
    return { announced }
  }

  private async next(id: string, running: boolean): Promise<Session['status'] | undefined> {
    // one read: the stored state and whether an approval is pending (not the session's document)
    const stored = await this.store.sessionState(id)
    if (!stored || stored.status === 'archived') return undefined
    const next = stored.pendingApproval ? 'waiting_for_approval' : running ? 'running' : 'idle'
    return next === stored.status ? undefined : next
  }

  /** Stores the state and announces it, unless the session is archived by then (nothing follows `archived`). */
  private async record(id: string, status: Session['status']): Promise<StateChange> {
    const stored = await this.store.setSessionState(id, { status, at: new Date().toISOString() })
    return stored ? this.announce(id, status) : unchanged
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
