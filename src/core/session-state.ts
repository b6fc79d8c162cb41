import { isDeepStrictEqual } from 'node:util'
import type { TurnInput } from '../agents/session.js'
import type { AgentEvent, SessionStatusEvent } from '../protocol/events.js'
import type { Session, Turn } from '../protocol/sessions.js'
import type { EventToAppend, SessionClaim, SessionStateRead, Store, TurnStep } from '../store/store.js'
import { SerialByKey } from '../util/serial-by-key.js'
import type { EventLog } from './event-log.js'

/**
 * What a state change says besides the state: stored on the session with the state (one store step) and said by
 * its `session.status` event.
 */
export type StatusNote = Pick<SessionStatusEvent, 'agentArchiveError'>

/** A steer as SessionState.steer recorded it: into `turnId`, its `turn.steered` event's `seq`, the input as stored. */
export interface RecordedSteer {
  turnId: string
  seq: number
  input: TurnInput
}

/** A value as JSON stores it (no undefined fields), to compare a stored input with the one recorded. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v))

/**
 * The patch that takes `steer`'s input out of `turn`'s `steered` (the last one with that input: two equal inputs
 * are one and the same in the record); undefined when it is not there.
 */
function withoutSteer(turn: Turn, steer: RecordedSteer): Pick<Turn, 'steered'> | undefined {
  const steered = [...(turn.steered ?? [])]
  const index = steered.findLastIndex((s) => isDeepStrictEqual(plain(s), plain(steer.input)))
  if (index < 0) return undefined
  steered.splice(index, 1)
  return { steered: steered.length ? steered : undefined }
}

/** The `session.status` of the state a step stored (none when it stored none), to append in the step's transaction. */
function statusEvents(
  ownerId: string,
  step: TurnStep | undefined,
  at: string,
  fence: SessionClaim | undefined,
): EventToAppend[] {
  return step?.status ? [{ ownerId, event: { type: 'session.status', status: step.status }, at, fence }] : []
}

/** The state a session read as `stored` goes to (undefined: it stays as it is; nothing follows `archived`). */
function nextStatus(stored: SessionStateRead, running: boolean): Session['status'] | undefined {
  if (stored.status === 'archived') return undefined
  const next = stored.pendingApproval ? 'waiting_for_approval' : running ? 'running' : 'idle'
  return next === stored.status ? undefined : next
}

/**
 * A session's state steps in this process, one at a time: each reads the state it computes from, stores it and
 * queues its announcement before the next one starts. Without that, two steps in flight at once (a turn starts
 * while its agent asks an approval, an approval is answered while the turn ends, an archive meanwhile) are
 * answered in any order: PostgreSQL runs each on a pool connection of its own, connections answer independently
 * (a row lock is released before the COMMIT's answer is sent), so the later write's answer may come first, and
 * the log, which keeps the order of its appends, would end with a state that is not the one stored, or with one
 * after `archived`. In a line, each step also reads after the one before it stored, so no state computed from
 * an older read is stored over a newer one. One queue for the whole process: each tenant scope has a
 * SessionState of its own, and the server's own recovers sessions. Across processes only the session's owner
 * writes its state (other nodes forward to it), but for a node taken for dead: the store keeps `archived` then,
 * and refuses a write that carries the claim of a node that lost the session (SessionTakenOver).
 * test/integration/session-state-order.test.ts forces the late answers.
 */
const processSteps = new SerialByKey()

/**
 * A session's state (idle, running, waiting_for_approval, archived) as stored and announced on its events, and
 * the turns that end without running to their end (archived, their node lost). Every state write is one of
 * the session's steps (`processSteps`).
 */
export class SessionState {
  constructor(
    private readonly store: Store,
    private readonly log: EventLog,
    /** Whether a turn of the session is running in this process now. */
    private readonly running: (sessionId: string) => boolean,
    /** The queue of state steps: the process's own (tests stand for another process with one of their own). */
    private readonly steps: SerialByKey = processSteps,
  ) {}

  /**
   * Every write below takes the session's `claim` this node holds, if any (Store.SessionClaim). `note`: what the
   * change says besides the state (an archive's `agentArchiveError`), stored with it and on its `session.status`.
   */
  set(id: string, status: Session['status'], claim?: SessionClaim, note?: StatusNote): Promise<void> {
    return this.steps.run(id, () => this.record(id, status, claim, note))
  }

  /** Recomputes and records the session's state when it changed. */
  refresh(id: string, claim?: SessionClaim): Promise<void> {
    return this.steps.run(id, async () => {
      const next = await this.next(id, this.running(id))
      if (next) await this.record(id, next, claim)
    })
  }

  /**
   * A queued turn starts: `patch` (running, startedAt) is stored with the session's new state and that state's
   * `session.status` in one transaction, in the log's order (EventLog.commitWith); resolves once they are stored.
   * Held through a brief store outage (its connection refused before the transaction started), as the turn's
   * events are: its agent works meanwhile.
   */
  startTurn(
    id: string,
    turnId: string,
    patch: Partial<Turn>,
    claim?: SessionClaim,
    /** A turn not stored yet (it went to its agent first: SessionManager.startTurn): stored now, as `patch` says. */
    unstored?: Turn,
  ): Promise<void> {
    return this.steps.run(id, async () => {
      const running = this.running(id)
      const at = new Date().toISOString()
      // read in the step's own transaction, not by a store call before it
      const state = (read: SessionStateRead) => {
        const next = nextStatus(read, running)
        return next && { status: next, at }
      }
      // what the store wrote is announced
      const announced = (step: TurnStep | undefined) => statusEvents(id, step, at, claim)
      // held through a brief store outage, as the turn's events are (EventLog.outageGraceMs): its agent works
      await this.log.commitWith(
        id,
        (tx = this.store) =>
          unstored
            ? tx.createTurnWithEvents({ ...unstored, ...patch }, claim, state, announced)
            : tx.updateTurnWithEvents(turnId, patch, state, claim, announced),
        true,
      )
    })
  }

  /**
   * The running turn ends: its end (`patch`) is stored with the state the session goes to (waiting for an
   * approval, or idle), its `end` event (turn.completed / turn.failed) and that state's `session.status`, all in
   * one transaction (Store.completeTurnWithEvents), in the log's order (EventLog.commitWith: after every event
   * appended before); `ended` runs as soon as that is stored (the turn no longer counts as running). Only the
   * state the store wrote is announced: an archive that landed since the read stays, and nothing follows it.
   */
  completeTurn(
    id: string,
    turnId: string,
    patch: Partial<Turn>,
    at: string,
    ended: () => void,
    claim?: SessionClaim,
    end?: AgentEvent,
  ): Promise<Turn | undefined> {
    return this.steps.run(id, async () => {
      // the state it goes to is read in the end's own transaction, not by a store call before it
      const { step } = await this.log.commitWith(id, (tx = this.store) =>
        tx.completeTurnWithEvents(
          turnId,
          patch,
          at,
          (read) => nextStatus(read, false),
          claim,
          (step) => [
            ...(end ? [{ ownerId: id, event: this.log.redact(end), at, fence: claim }] : []),
            ...statusEvents(id, step, at, claim),
          ],
        ),
      )
      // in this step: a refresh queued meanwhile no longer counts the turn as running
      ended()
      return step?.turn
    })
  }

  private async next(id: string, running: boolean): Promise<Session['status'] | undefined> {
    // one read: the stored state and whether an approval is pending (not the session's document)
    const stored = await this.store.sessionState(id)
    return stored && nextStatus(stored, running)
  }

  /**
   * Stores the state and its `session.status` (fenced by `claim` as the state is) in one transaction, in the
   * log's order (EventLog.commitWith), unless the session is archived by then (nothing follows `archived`, and
   * nothing is announced): a crash leaves both or neither, so an archived session's events end with `archived`.
   */
  private async record(
    id: string,
    status: Session['status'],
    claim?: SessionClaim,
    note?: StatusNote,
  ): Promise<void> {
    const at = new Date().toISOString()
    const event = this.log.redact({ type: 'session.status', status, ...note })
    await this.log.commitWith(id, (tx = this.store) =>
      tx.setSessionStateWithEvents(id, { status, at, fields: note }, claim, (stored) =>
        stored ? [{ ownerId: id, event, at, fence: claim }] : [],
      ),
    )
  }

  /**
   * The running turn is steered with `input`: the turn's `steered` grows by it and its `turn.steered` event is
   * appended, in one transaction, in the log's order (EventLog.commitWith), both redacted as events are; in the
   * session's steps, so two steers at once keep both. Resolves with what was recorded (the event's `seq`, the
   * input as stored); undefined for a turn not stored (nothing is).
   */
  steer(
    sessionId: string,
    turnId: string,
    input: TurnInput,
    claim?: SessionClaim,
  ): Promise<RecordedSteer | undefined> {
    return this.steps.run(sessionId, async () => {
      const at = new Date().toISOString()
      const event = this.log.redact({ type: 'turn.steered', turnId, input } as const)
      const { events } = await this.log.commitWith(sessionId, async (tx = this.store) => {
        const steered = [...((await tx.getTurn(turnId))?.steered ?? []), event.input]
        return tx.updateTurnWithEvents(turnId, { steered }, undefined, claim, () => [
          { ownerId: sessionId, event, at, fence: claim },
        ])
      })
      const seq = events[0]?.seq
      return seq === undefined ? undefined : { turnId, seq, input: event.input }
    })
  }

  /**
   * A recorded steer its agent refused (its turn had ended while the input was on its way) becomes the new
   * queued turn `next` (whose input is the steer's): `next` is stored with a `turn.steer_refused` event naming
   * both, and the input leaves the steered turn's `steered`, in one transaction where the store has them
   * (PostgreSQL), in the log's order, in the session's steps (as steers are). So the session's history has the
   * input once, as `next`'s. Where the store commits each step on its own (SQLite) `next` is stored first: a
   * crash in between leaves the input twice, never nowhere.
   */
  unsteer(sessionId: string, refused: RecordedSteer, next: Turn, claim?: SessionClaim): Promise<void> {
    return this.steps.run(sessionId, async () => {
      const at = new Date().toISOString()
      const event = {
        type: 'turn.steer_refused',
        turnId: refused.turnId,
        steeredSeq: refused.seq,
        queuedTurnId: next.id,
      } as const
      await this.log.commitWith(sessionId, async (tx = this.store) => {
        const created = await tx.createTurnWithEvents(next, claim, undefined, () => [
          { ownerId: sessionId, event, at, fence: claim },
        ])
        const steered = await tx.getTurn(refused.turnId)
        const left = steered && withoutSteer(steered, refused)
        if (left) await tx.updateTurn(refused.turnId, left, undefined, claim)
        return created
      })
    })
  }

  /**
   * A recorded steer whose sending to its agent failed (its process died, it answered an error, it did not answer
   * in time) is withdrawn: its input leaves the steered turn's `steered` and a `turn.steer_failed` event (`error`,
   * redacted as events are) is appended, in one transaction, in the log's order, in the session's steps (as steers
   * are). So the history does not claim input the agent was not known to get, and a client that sends it again
   * does not put it there twice. The event is appended even when the input is no longer there to take out.
   */
  withdrawSteer(
    sessionId: string,
    failed: RecordedSteer,
    error: string,
    claim?: SessionClaim,
  ): Promise<void> {
    return this.steps.run(sessionId, async () => {
      const at = new Date().toISOString()
      const event = this.log.redact({
        type: 'turn.steer_failed',
        turnId: failed.turnId,
        steeredSeq: failed.seq,
        error,
      } as const)
      await this.log.commitWith(sessionId, async (tx = this.store) => {
        const steered = await tx.getTurn(failed.turnId)
        return tx.updateTurnWithEvents(
          failed.turnId,
          (steered && withoutSteer(steered, failed)) ?? {},
          undefined,
          claim,
          () => [{ ownerId: sessionId, event, at, fence: claim }],
        )
      })
    })
  }

  /**
   * Records a turn as ended from outside (failed or interrupted) and its end event in one transaction, in the
   * log's order (EventLog.commitWith): never the one without the other. Nothing for a turn not stored. A turn that
   * `ran` (it had started: gone to its agent, which holds it in its history) counts in the session's `turnCount`
   * as an end its agent gave does (Store.completeTurnWithEvents, the session's state left as it is); one that never
   * started (ended while queued: an archive, a stop, a session that could not be reopened, its node's death) does
   * not, as before: `turnCount` is how many of the session's turns ran and ended (the listed turns with a
   * `startedAt` that have ended), which the agent's history holds (a claude fork rebuilt without its copy is cut
   * where its parent's turn `forkedAtTurn + 1` started), and a session whose turns never reached its agent keeps
   * none (a codex thread that was never written is started anew, not resumed: live-sessions.ts resumeOrStart). Before, a turn its node's
   * death left running (failed by the takeover's recovery) was not counted though its agent had it, and a later
   * fork's `forkedAtTurn` left out the parent's last ended turn.
   */
  async endTurn(
    sessionId: string,
    turnId: string,
    patch: Partial<Turn>,
    claim?: SessionClaim,
    ran = false,
  ): Promise<void> {
    const at = new Date().toISOString()
    const end = endEvent(turnId, patch)
    const events = () => (end ? [{ ownerId: sessionId, event: this.log.redact(end), at, fence: claim }] : [])
    const ended = { ...patch, finishedAt: at }
    await this.log.commitWith(sessionId, (tx = this.store) =>
      ran
        ? tx.completeTurnWithEvents(turnId, ended, at, undefined, claim, events)
        : tx.updateTurnWithEvents(turnId, ended, undefined, claim, events),
    )
  }
}

/** The event that says a turn ended from outside as `patch` says (none for another status). */
function endEvent(turnId: string, patch: Partial<Turn>): AgentEvent | undefined {
  if (patch.status === 'failed') return { type: 'turn.failed', turnId, error: patch.error ?? 'failed' }
  if (patch.status === 'interrupted')
    return {
      type: 'turn.completed',
      turnId,
      status: 'interrupted',
      usage: null,
      ...(patch.error ? { error: patch.error } : {}),
    }
  return undefined
}
