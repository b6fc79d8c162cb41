import type { TurnInput, TurnOptions } from '../agents/session.js'
import type { Config } from '../config/load.js'
import { AppError } from '../protocol/errors.js'
import type { ApprovalPolicy } from '../protocol/policies.js'
import type { Turn } from '../protocol/sessions.js'
import { type ActiveRuns, endAfterAbortMs } from './active-runs.js'
import { newId } from './ids.js'
import { hasTurns, type LiveSession } from './live-sessions.js'
import type { RecordedSteer } from './session-state.js'
import { TurnEndClaim } from './turn-end-claim.js'

/** What a new turn does when the session is busy: wait its turn, steer the running one, or be refused (409). */
export type OnBusy = 'queue' | 'steer' | 'reject'

export interface TurnQueueContext {
  config: Config
  active: ActiveRuns
  /** False once the gateway shuts down: queued turns no longer start. */
  accepting(): boolean
  /**
   * Runs one turn to its recorded end, with what it asked for beyond its input (unless `end` is claimed by the
   * force first: then it records nothing).
   */
  execute(
    sessionId: string,
    live: LiveSession,
    turn: Turn,
    controller: AbortController,
    options: TurnOptions,
    end: TurnEndClaim,
  ): Promise<void>
  /**
   * A running turn whose agent did not stop within endAfterAbortMs of its interrupt (or of the stop's abort):
   * records its end (`interrupted`, `why`) and has the driver let go of its agent session. Resolves with the live
   * session the session's queued turns go on in, or undefined when none goes on here (another node took it over).
   */
  forceEnd(sessionId: string, live: LiveSession, turn: Turn, why: string): Promise<LiveSession | undefined>
  /** No turn of the session starts now: its idle unload is (re)scheduled. */
  nothingToStart(sessionId: string, live: LiveSession): void
  /**
   * The gateway shuts down: this queued turn will never start here. Records its end (the queue releases it once
   * that settled, so the shutdown's `idle` waits for the record, not for a turn that never comes).
   */
  neverStarting(sessionId: string, live: LiveSession, turn: Turn): Promise<void>
  /**
   * `input` is about to go to the running `turn` (a steer its agent accepts to send): records it (the turn's
   * `steered`, its `turn.steered` event) before the agent gets it, and resolves with what it recorded (undefined:
   * nothing, the turn is not stored). Its error refuses the steer.
   */
  steering(
    sessionId: string,
    live: LiveSession,
    turn: Turn,
    input: TurnInput,
  ): Promise<RecordedSteer | undefined>
  /**
   * A recorded steer whose sending to the agent failed (`error`: its process died, it answered an error, it did
   * not answer in time) is withdrawn from the history (SessionState.withdrawSteer).
   */
  steerFailed(sessionId: string, live: LiveSession, failed: RecordedSteer, error: string): Promise<void>
  /**
   * A recorded steer becomes the next turn, first in the queue: stored with the steer's withdrawal from the turn it
   * was recorded into (SessionState.unsteer, `turn.steer_refused`). Resolves with that turn; throws when the store
   * refused it (the steer stays recorded).
   */
  steerQueued(sessionId: string, live: LiveSession, steer: RecordedSteer, input: TurnInput): Promise<Turn>
  /**
   * A recorded steer its agent accepted into `turn` and ended the turn without (`ended`: how the turn ended): its
   * input becomes the next turn (completed) or is withdrawn (interrupted, failed), each said by an event.
   */
  steerLeft(
    sessionId: string,
    live: LiveSession,
    turn: Turn,
    left: LeftSteer,
    ended: Partial<Turn>,
  ): Promise<void>
}

/**
 * What a busy session does with a new turn's input (TurnQueue.whenBusy): `steeredInto` the running turn, or else
 * it becomes a new turn; `refused`: that input's steer was recorded and then refused by the agent, whose turn had
 * ended meanwhile (the new turn is stored with the steer's withdrawal: SessionState.unsteer); `queuedAs`: that
 * input's steer was recorded and its agent did not answer before the turn's end was stored (TurnQueue.settleSteers
 * gave it up): it became that turn, stored and queued, as a refused one does.
 */
export type BusyOutcome =
  | { steeredInto: Turn; refused?: undefined; settled?: undefined; queuedAs?: undefined }
  | { queuedAs: Turn; steeredInto?: undefined; refused?: undefined; settled?: undefined }
  | {
      steeredInto?: undefined
      queuedAs?: undefined
      refused?: RecordedSteer
      /**
       * To call once the refused steer's withdrawal is stored (or failed): the steered turn's end, which waits for
       * the answers of its recorded steers (TurnQueue.settleSteers), is stored after it.
       */
      settled?: () => void
    }

/** A recorded steer its agent ended the turn without: what was recorded, and the input as the client sent it. */
export interface LeftSteer {
  steer: RecordedSteer
  input: TurnInput
}

/**
 * A new turn's record, queued, with the approval policy it runs with (null: the agent's default); `id`: chosen
 * before (an Idempotency-Key held for it: request-keys.ts), default a new one.
 */
export const queuedTurn = (
  sessionId: string,
  input: TurnInput,
  approvalPolicy: ApprovalPolicy | null = null,
  id: string = newId('turn'),
): Turn => ({
  id,
  sessionId,
  agentTurnId: null,
  status: 'queued',
  input,
  createdAt: new Date().toISOString(),
  startedAt: null,
  finishedAt: null,
  finalResponse: null,
  usage: null,
  error: null,
  approvalPolicy,
})

/**
 * The turns of the live sessions of this process: one runs at a time per session, the others wait in its queue
 * (at most MAX_QUEUED_TURNS); each can be waited for until it ended.
 */
export class TurnQueue {
  private readonly held = new Map<string, Held>()

  constructor(private readonly ctx: TurnQueueContext) {}

  /**
   * A new turn for a session that may be busy, following `onBusy`: the running turn the input was steered into,
   * or else a new turn (BusyOutcome); throws 409 (reject) or 429 (the queue is full).
   */
  async whenBusy(id: string, live: LiveSession, input: TurnInput, onBusy: OnBusy): Promise<BusyOutcome> {
    if (!hasTurns(live)) return {}
    if (onBusy === 'reject')
      throw new AppError('conflict', `session ${id} is busy with turn ${live.current?.turn.id}`)
    const running = live.current?.turn
    let recorded: RecordedSteer | undefined
    let handedOver = false
    // a turn ended by force (its end being stored, its agent let go), or whose steers were settled (its end being
    // stored), takes no steer: the input queues
    const into = running && this.held.get(running.id)
    const pending = new PendingSteer(input)
    if (onBusy === 'steer' && running && into && !into.end?.forced.aborted && !into.settledAs) {
      try {
        // recorded once the agent found a turn to steer, before the input goes to it: the session's history
        // never lacks what its agent was told (an agent that cannot steer refuses before: nothing is recorded)
        const answered = live.agent
          .steer(input, async () => {
            // its turn's end settled its steers while this one was on its way: none is recorded into it after that
            if (into.settledAs)
              throw new AppError('conflict', `turn ${running.id} of session ${id} has ended`)
            pending.join(into.pending)
            recorded = await pending.record(this.ctx.steering(id, live, running, input))
          })
          .finally(() => pending.answered())
        // the turn's end gives up waiting for an answer that does not come within its bound (settleSteers): the
        // recorded input then became the next turn, before that end was stored, and the agent's answer (late, if
        // ever) changes nothing: a late acceptance is not taken, as the stored end says
        await Promise.race([answered.catch(() => {}), pending.givenUp])
        if (pending.overdue) {
          const gaveUp = await pending.givenUp
          if (gaveUp.next) return { queuedAs: gaveUp.next }
          if (gaveUp.kept) return { steeredInto: running }
          // nothing was recorded: the agent's answer says what became of it
        }
        const receipt = await answered
        // accepted: the turn's end first finds out whether its agent took it (settleSteers)
        if (recorded && receipt) into.steers.push(acceptedSteer(recorded, input, receipt.taken))
        return { steeredInto: running }
      } catch (err) {
        // the agent has no turn to steer into at this instant (the running one is starting or ending): the
        // input queues as the next turn instead of a refusal that depends on timing; a steer recorded before
        // the agent refused it (its turn ended while the input was on its way) is withdrawn as that turn is
        // stored (`refused`)
        if (!(err instanceof AppError && err.code === 'conflict')) {
          // failed otherwise once recorded: withdrawn, so a client that sends it again has it there once
          if (recorded) throw await this.withdrawn(id, live, recorded, err)
          throw err
        }
        // refused once recorded: the caller settles it once the new turn is stored with the steer's withdrawal
        if (recorded) {
          handedOver = true
          return { refused: recorded, settled: () => pending.finish() }
        }
      } finally {
        if (!handedOver) pending.finish()
      }
    }
    // a refused steer's input is not dropped for a full queue: it was accepted once already
    if (!recorded && live.queue.length >= this.ctx.config.MAX_QUEUED_TURNS)
      throw new AppError('over_capacity', `session ${id} already has ${live.queue.length} queued turns`, {
        retryAfterSeconds: 5,
      })
    return { refused: recorded }
  }

  /**
   * The error a steer whose sending failed (`err`) is answered with once it was withdrawn from the history: the
   * agent's own AppError keeps its code, anything else (its process died, no answer in time) is `agent_failed`;
   * the message says the input went nowhere. A withdrawal the store refused is said too (the steer stays recorded).
   */
  private async withdrawn(
    id: string,
    live: LiveSession,
    steer: RecordedSteer,
    err: unknown,
  ): Promise<AppError> {
    const why = (err as Error)?.message ?? String(err)
    let outcome = 'it was withdrawn (turn.steer_failed): the input is in no turn, send it again'
    let withdrawn = true
    try {
      await this.ctx.steerFailed(id, live, steer, why)
    } catch (failed) {
      withdrawn = false
      outcome = `its record could not be withdrawn (${(failed as Error)?.message ?? failed}): it stays as turn.steered`
    }
    const code = err instanceof AppError ? err.code : 'agent_failed'
    // `withdrawn`: whether its `turn.steer_failed` was stored (a follower of the session's events saw it said)
    const details = { turnId: steer.turnId, steeredSeq: steer.seq, withdrawn }
    return new AppError(code, `the steer did not reach the agent: ${why}; ${outcome}`, details, {
      cause: err,
    })
  }

  /**
   * Queues a stored turn: it starts once the turns before it ended (`first`: before those queued), with `options`
   * (core/turn-options.ts).
   */
  push(sessionId: string, live: LiveSession, turn: Turn, options: TurnOptions = {}, first = false): void {
    this.held.set(turn.id, held(options))
    if (first) live.queue.unshift(turn)
    else live.queue.push(turn)
    this.pump(sessionId, live)
  }

  /**
   * Settles the steers of `turn`, which ended (`ended`: how), before its end is stored: each one its agent accepted
   * and did not take into the turn (its driver's SteerReceipt) goes to ctx.steerLeft, so the stored end never
   * claims an input its agent did not get. A steer whose answer is still on its way (recorded, sent, the turn
   * ended meanwhile) is waited for first, at most endAfterAbortMs: accepted, it is settled with the others; refused
   * or failed, it was withdrawn by its own path. One whose answer did not come by then is given up: it becomes the
   * next turn (ctx.steerQueued) now, as a refused one does, and its answer, whenever it comes, changes nothing.
   * Whoever reads the stored end finds every steer of the turn settled before it; a steer that comes after this
   * is refused before it is recorded (whenBusy): it queues.
   * `forced`: the gateway ended the turn (its agent did not stop): nothing of its agent is waited for, and a steer
   * its agent is not known to have taken yet is left (the force records the turn interrupted, without it).
   */
  async settleSteers(
    id: string,
    live: LiveSession,
    turn: Turn,
    ended: Partial<Turn>,
    forced = false,
  ): Promise<void> {
    const h = this.held.get(turn.id)
    if (!h) return
    if (!forced && h.pending.size > 0)
      await within(Promise.all([...h.pending].map((p) => p.done)), endAfterAbortMs(this.ctx.config))
    // from here on no steer joins: one sent now is refused before it is recorded (whenBusy), and queues
    h.settledAs = ended
    // requeued last first: each goes first in the queue, so they run in the order they were sent
    const overdue = [...h.pending].filter((p) => p.giveUp()).reverse()
    for (const p of overdue) await this.requeue(id, live, turn, p)
    // those answered meanwhile are being settled by their own path (a store step: a refused one's new turn, a
    // failed one's withdrawal; an accepted one joins the turn's steers), before this end is stored
    await Promise.all([...h.pending].map((p) => p.done))
    const accepted = h.steers.splice(0)
    const left = forced
      ? accepted.filter((s) => s.taken !== true)
      : (
          await Promise.all(accepted.map(async (s) => ((await s.receipt.catch(() => true)) ? undefined : s)))
        ).filter((s) => s !== undefined)
    for (const { steer, input } of left) await this.ctx.steerLeft(id, live, turn, { steer, input }, ended)
  }

  /**
   * A steer given up by its turn's end (settleSteers): once its record settled, it becomes the next turn
   * (ctx.steerQueued); a store that refuses that leaves it recorded in the turn (warned), and one never recorded
   * is left to its agent's answer.
   */
  private async requeue(id: string, live: LiveSession, turn: Turn, pending: PendingSteer): Promise<void> {
    const steer = await pending.recorded
    if (!steer) return pending.gaveUp({})
    try {
      pending.gaveUp({ next: await this.ctx.steerQueued(id, live, steer, pending.input) })
    } catch (err) {
      warn(id, turn, err, `steer ${steer.seq} (stays recorded) of turn`)
      pending.gaveUp({ kept: steer })
    } finally {
      pending.finish()
    }
  }

  /**
   * Resolves once the turn ended (at once when this process does not hold it), or after `timeoutMs`: with the
   * turn as its end was stored when this process recorded it (`answer`), undefined otherwise.
   */
  async ended(turnId: string, timeoutMs?: number): Promise<Turn | undefined> {
    const h = this.held.get(turnId)
    if (!h) return undefined
    let timer: NodeJS.Timeout | undefined
    const timedOut = timeoutMs
      ? new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs).unref()))
      : undefined
    const ended = await (timedOut ? Promise.race([h.ended, timedOut]) : h.ended)
    clearTimeout(timer)
    return ended
  }

  /**
   * Waits for the turn's end as `ended` does, and past `timeoutMs` for as long as its end (its agent's, or the one
   * the force gave it) is being recorded (a store that refuses it, its disk full, is tried again until it takes
   * it: end-retry.ts). `gaveUp`: that record
   * was given up (the gateway stops, or another node took the session over), so the turn's end is not stored. An
   * archive waits so: its `archived` must not be stored before the turn's end, which would then come after it.
   */
  async endRecorded(turnId: string, timeoutMs: number): Promise<{ gaveUp: boolean }> {
    const h = this.held.get(turnId)
    if (!h) return { gaveUp: false }
    if (await this.ended(turnId, timeoutMs)) return { gaveUp: false }
    // timed out (or released): an end being recorded (the agent's, or the force's) is waited for without the bound
    if (!h.end?.claimed) return { gaveUp: false }
    return { gaveUp: (await h.ended) === undefined }
  }

  /** Whether the turn was started by this process and has not ended yet. */
  holds(turnId: string): boolean {
    return this.held.has(turnId)
  }

  /**
   * The turn's end is stored (`turn`, as stored): whoever waits for it goes on now, before the rest of its
   * bookkeeping (the state's announcement); the turn is held until `release`.
   */
  answer(turnId: string, turn: Turn | undefined): void {
    this.held.get(turnId)?.answer(turn)
  }

  /** The turn's session was taken over by another node: whoever waits for the turn gets `err` (503). */
  refuse(turnId: string, err: Error): void {
    this.held.get(turnId)?.refuse(err)
  }

  /** The turn will not run (or no longer runs here): whoever waits for it goes on. */
  release(turnId: string): void {
    const h = this.held.get(turnId)
    if (!h) return
    this.held.delete(turnId)
    h.answer(undefined)
    h.release()
  }

  /** Resolves when every turn this process holds ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.held.values()].map((h) => h.released))
  }

  private pump(id: string, live: LiveSession): void {
    // After shutdown began no queued turn starts (no agent work begins while the gateway closes): each is ended
    // and released, so `idle` does not wait for a turn that never comes (the gateway's close hung on it).
    if (!this.ctx.accepting()) {
      for (const turn of live.queue.splice(0))
        void this.ctx
          .neverStarting(id, live, turn)
          .catch((err: unknown) => warn(id, turn, err, 'queued turn'))
          .finally(() => this.release(turn.id))
      return
    }
    if (live.current || live.queue.length === 0) {
      this.ctx.nothingToStart(id, live)
      return
    }
    // the idle timer runs on: it does nothing while the session has a turn, and is re-armed after it
    const turn = live.queue.shift()!
    const end = new TurnEndClaim()
    const h = this.held.get(turn.id)
    if (h) h.end = end
    const boundMs = endAfterAbortMs(this.ctx.config)
    // the stop's drain ends it by force when it did not end within boundMs of the stop's abort
    const controller = this.ctx.active.track(() =>
      this.forceEnd(id, live, turn, controller, end, notStopped(boundMs, 'the server stop')),
    )
    // an interrupt (the client's, an archive's) is given as long; the stop's abort is the drain's to bound
    let bound: NodeJS.Timeout | undefined
    controller.signal.addEventListener(
      'abort',
      () => {
        if (controller.signal.reason === 'shutdown') return
        bound = setTimeout(
          () => void this.forceEnd(id, live, turn, controller, end, notStopped(boundMs, 'the interrupt')),
          boundMs,
        ).unref()
      },
      { once: true },
    )
    live.current = { turn, controller }
    void this.ctx
      .execute(id, live, turn, controller, this.held.get(turn.id)?.options ?? {}, end)
      // a turn whose end could not be stored (the store failed) must not end the gateway as an unhandled rejection
      .catch((err: unknown) => warn(id, turn, err))
      .finally(() => {
        clearTimeout(bound)
        this.ctx.active.release(controller)
        // ended by force: the session went on without it (forceEnd)
        if (end.forced.aborted) return
        // a client answered early may have started the next turn already
        if (live.current?.turn === turn) live.current = undefined
        this.release(turn.id)
        this.pump(id, live)
      })
  }

  /**
   * Ends a turn whose agent did not stop within its bound after its abort, unless it ended meanwhile: its end is
   * recorded (ctx.forceEnd), and the session goes on without waiting for the turn's execution any more (which,
   * still waiting on its agent, records nothing more: TurnEndClaim).
   */
  private async forceEnd(
    id: string,
    live: LiveSession,
    turn: Turn,
    controller: AbortController,
    end: TurnEndClaim,
    why: string,
  ): Promise<void> {
    if (!end.byForce()) return
    let next: LiveSession | undefined
    try {
      next = await this.ctx.forceEnd(id, live, turn, why)
    } catch (err) {
      warn(id, turn, err)
      // failed otherwise than by the store's refusal (which ctx.forceEnd tries again until it gives up at the
      // stop): the turns queued behind it are not left waiting for good
      next = live
    } finally {
      this.ctx.active.release(controller)
      if (live.current?.turn === turn) live.current = undefined
      this.release(turn.id)
    }
    if (next) this.pump(id, next)
  }
}

/**
 * Whether `err` (a steer's, from whenBusy) says its failure was stored: its recorded steer withdrawn by a
 * `turn.steer_failed` event, which whoever follows the session's events sees (a node's call keeps the details).
 */
export const steerWithdrawn = (err: unknown): boolean =>
  err instanceof AppError && (err.details as { withdrawn?: unknown } | undefined)?.withdrawn === true

/** The error of a turn ended by force. */
const notStopped = (ms: number, after: string) =>
  `the agent did not stop the turn within ${ms} ms of ${after}; the gateway ended it and closed the agent's session`

const warn = (id: string, turn: Turn, err: unknown, what = 'turn') =>
  process.emitWarning(`${what} ${turn.id} of session ${id}: ${(err as Error)?.message ?? err}`, 'TurnFailed')

/** A turn this process holds: answered once its end is stored, released once nothing of it runs here. */
interface Held {
  /** What the turn asked for beyond its input. */
  options: TurnOptions
  /** Who records its end, once it started (endRecorded). */
  end?: TurnEndClaim
  /** Its steers its agent accepted, until settleSteers settles them. */
  steers: AcceptedSteer[]
  /** Its steers on their way (recorded, or being recorded), until settled (PendingSteer). */
  pending: Set<PendingSteer>
  /** How the turn ended, once settleSteers settled its steers: no steer is recorded into it after that. */
  settledAs?: Partial<Turn>
  /** The turn as stored when it ended here; undefined when it ended otherwise (released, timed out). */
  ended: Promise<Turn | undefined>
  answer(turn: Turn | undefined): void
  /** Whoever waits gets `err` instead (the session was taken over). */
  refuse(err: Error): void
  released: Promise<void>
  release(): void
}

function held(options: TurnOptions): Held {
  let answer!: (turn: Turn | undefined) => void
  let refuse!: (err: Error) => void
  let release!: () => void
  const ended = new Promise<Turn | undefined>((resolve, reject) => {
    answer = resolve
    refuse = reject
  })
  // refused with nobody waiting is no unhandled rejection
  ended.catch(() => {})
  const released = new Promise<void>((resolve) => (release = resolve))
  return { options, steers: [], pending: new Set(), ended, answer, refuse, released, release }
}

/** A steer its agent accepted: what was recorded, the input, and whether its agent took it into the turn. */
interface AcceptedSteer extends LeftSteer {
  /** The driver's receipt: true once the agent took it into the turn, false when the turn ended without it. */
  receipt: Promise<boolean>
  /** What `receipt` said, once it did. */
  taken?: boolean
}

function acceptedSteer(steer: RecordedSteer, input: TurnInput, receipt: Promise<boolean>): AcceptedSteer {
  const accepted: AcceptedSteer = { steer, input, receipt }
  receipt.then(
    (taken) => (accepted.taken = taken),
    () => {},
  )
  return accepted
}

/** What became of a steer its turn's end gave up (settleSteers): none of these when it was never recorded. */
interface GaveUp {
  /** It became this turn, stored and queued. */
  next?: Turn
  /** Its withdrawal failed: it stays recorded in the turn. */
  kept?: RecordedSteer
}

/**
 * A steer on its way to its agent (being recorded, or recorded and sent), which its turn's end waits for until it
 * is settled (`done`), at most endAfterAbortMs: its agent answered and its path settled it, or the end gave it up
 * (`overdue`) and settled it itself.
 */
class PendingSteer {
  /** Its end gave it up before its agent answered. */
  overdue = false
  private answeredYet = false
  private of?: Set<PendingSteer>
  readonly recorded: Promise<RecordedSteer | undefined>
  private resolveRecorded!: (steer: RecordedSteer | undefined) => void
  readonly done: Promise<void>
  private resolveDone!: () => void
  readonly givenUp: Promise<GaveUp>
  private resolveGivenUp!: (gaveUp: GaveUp) => void

  constructor(readonly input: TurnInput) {
    this.recorded = new Promise((r) => (this.resolveRecorded = r))
    this.done = new Promise((r) => (this.resolveDone = r))
    this.givenUp = new Promise((r) => (this.resolveGivenUp = r))
  }

  /** Its turn's end waits for it from now on (`of`: the turn's steers on their way). */
  join(of: Set<PendingSteer>): void {
    this.of = of
    of.add(this)
  }

  /** `recording` (ctx.steering) as it goes, its outcome kept for a give-up (undefined: nothing recorded). */
  record(recording: Promise<RecordedSteer | undefined>): Promise<RecordedSteer | undefined> {
    recording.then(this.resolveRecorded, () => this.resolveRecorded(undefined))
    return recording
  }

  /** Its agent answered (accepted, refused, failed), unless its end gave it up first. */
  answered(): void {
    if (!this.overdue) this.answeredYet = true
  }

  /** Gives it up when its agent has not answered yet: true then (the caller settles it). */
  giveUp(): boolean {
    if (this.answeredYet || this.overdue) return false
    this.overdue = true
    return true
  }

  gaveUp(what: GaveUp): void {
    this.resolveGivenUp(what)
  }

  /** Settled: its turn's end no longer waits for it. */
  finish(): void {
    this.of?.delete(this)
    this.resolveDone()
  }
}

/** `work`, or nothing more once `ms` passed. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()))
  try {
    await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}
