import type { AgentSession, TurnInput, TurnOptions } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'
import { type AgentEvent, assertNever, isWorkEvent } from '../protocol/events.js'
import type { Turn } from '../protocol/sessions.js'
import { type SessionClaim, SessionTakenOver, type Store } from '../store/store.js'
import { type EndRetry, recordEnd } from './end-retry.js'
import type { EventLog } from './event-log.js'
import { EventPipe } from './event-pipe.js'
import { withTurnId } from './session-request.js'
import type { TurnEndClaim } from './turn-end-claim.js'
import type { StagedTurnInput } from './turn-images.js'

/** A turn that may not run (a budget refused it): its message is the turn's error as it is. */
export class TurnRefused extends Error {}

/** How a turn ended, for the session manager to record. */
export interface TurnOutcome {
  /** The turn's final fields (status, usage, error). */
  ended: Partial<Turn>
  finalResponse: string | null
  /** turn.completed / turn.failed: appended only once the turn is stored as ended. */
  end: AgentEvent | undefined
}

export interface TurnExecutionContext {
  log: EventLog
  store: Store
  /** The session's claim this node holds: the turn's own writes (its agent's turn id) carry it. */
  claim?: SessionClaim
  /**
   * Who records the turn's end: when the force claims it first (its agent did not stop in time after an
   * interrupt: turn-queue.ts), the execution stops reading its agent and records nothing more.
   */
  end?: TurnEndClaim
  /**
   * Stores the turn's row when it went to the agent before it was stored (session-manager.ts startTurn), as
   * `patch` says (running) with the session's new state, in one step: `markRunning` for a turn not stored yet.
   * Runs after the agent got the turn, before any of its events is read; false when the row was stored
   * before (then `markRunning` follows). Throws when the row is refused (another node took the session over, the
   * store failed): nothing of the turn is recorded then, and the agent's turn is stopped.
   */
  storeTurn?(patch: Partial<Turn>): Promise<boolean>
  /**
   * The turn starts: it is stored as `patch` says (running) with the session's new state, in one step; resolves
   * once both are stored with the state's `session.status` (session-state.ts `startTurn`).
   */
  markRunning(patch: Partial<Turn>): Promise<void>
  /**
   * The turn ends: it is stored as `patch` says with the session's state it leads to, its `end` event and that
   * state's announcement, in one transaction; `ended` runs once they are stored (session-state.ts `completeTurn`).
   * Resolves with the turn as stored.
   */
  markEnded(
    patch: Partial<Turn>,
    at: string,
    ended: () => void,
    end: AgentEvent | undefined,
  ): Promise<Turn | undefined>
  /**
   * The agent ended the turn (`ended`: how), before its end is stored: the steers its agent accepted and did not
   * take into the turn are withdrawn, or become the next turn (session-manager.ts).
   */
  steersLeft?(ended: Partial<Turn>): Promise<void>
  /** Runs right before the agent works; throws (TurnRefused, AppError) to keep the turn from running. */
  beforeStart(): Promise<void>
  /**
   * The turn's input as its agent gets it (its images' private copies: turn-images.ts), made right after
   * beforeStart; throws (an AppError) to keep the turn from running. Its dispose runs once the turn ended.
   */
  stageInput?(input: TurnInput): Promise<StagedTurnInput>
  /**
   * A write of the turn was refused: another node took the session over (this node was taken for dead). The
   * turn stays as that node recorded it; this node lets go of the session.
   */
  takenOver(err: SessionTakenOver): Promise<void>
  /** The turn is stored as ended: the session no longer counts it as running. */
  turnEnded(): void
  /** The turn's end and the state it leads to are stored: whoever waits for the turn gets it now. */
  recorded(turn: Turn | undefined): void
  /** How a turn's end the store failed to record is tried again, and told (end-retry.ts). */
  endRetry?: EndRetry
  /**
   * Whether the gateway stops: an end the store refuses is given up then, even for a turn aborted before for
   * another reason (an interrupt, an archive), whose signal never says `shutdown`.
   */
  stopping?(): boolean
}

/**
 * A queued turn from its start to its recorded end: the agent is started, the turn marked running while the
 * agent works, its events stored, then the turn stored as ended and its end and the session's new state
 * announced. False when another node took the session over meanwhile (this node was taken for dead): the store
 * refused the turn's end (its claim is stale, in the same step as the write), so the turn stays as the node that
 * took it recorded it.
 */
export async function runTurn(
  ctx: TurnExecutionContext,
  sessionId: string,
  agent: AgentSession,
  turn: Turn,
  signal: AbortSignal,
  /** What the turn asked for beyond its input (turn-options.ts). */
  options?: TurnOptions,
): Promise<boolean> {
  // once: a refused event lets go already (executeTurn), the refused end then finds nothing more to do
  let lettingGo: Promise<void> | undefined
  const letGo = ctx.takenOver
  ctx = { ...ctx, takenOver: (err) => (lettingGo ??= letGo(err)) }
  const outcome = await executeTurn(ctx, sessionId, agent, turn, signal, options)
  // its row was refused, or its end was recorded by force: nothing more of it is recorded here
  if (!outcome || ctx.end?.byAgent() === false) return false
  const { ended, finalResponse, end } = outcome
  // what it was told and did not take is settled before its end is stored: whoever reads that end finds it settled
  await ctx.steersLeft?.(ended)
  const now = new Date().toISOString()
  const patch = { ...ended, finalResponse, finishedAt: now }
  // The turn's end, the state it leads to, its end event and that state's announcement are stored in one
  // transaction (no other turn of the session runs now), committed at once. The end event first, then the
  // state: what follows the events (webhooks too) sees them in that order. Only the state the store wrote is
  // announced: an archive that landed since the state was read stays, and nothing follows it.
  // A store that fails (its disk full, its database down) is tried again until it takes the end or the gateway
  // stops (its next start records the turn's end): the turn is not left `running` for good, its followers waiting.
  let stored: Turn | undefined
  let takenOver: SessionTakenOver | undefined
  const recorded = await recordEnd(
    async () => {
      stored = await ctx.markEnded(patch, now, () => ctx.turnEnded(), end)
    },
    { name: `turn ${turn.id} of session ${sessionId}`, ids: { sessionId, turnId: turn.id } },
    (err) => {
      if (err instanceof SessionTakenOver) takenOver = err
      return takenOver === undefined && signal.reason !== 'shutdown' && !ctx.stopping?.()
    },
    ctx.endRetry,
  )
  if (takenOver) {
    await ctx.takenOver(takenOver)
    return false
  }
  if (!recorded) return false
  // The client waiting for the turn is answered now.
  ctx.recorded(stored)
  return true
}

/**
 * The turn's `agentTurnId` and its `turn.started` event in one transaction, in the log's order (after the events
 * appended before it): one commit where there were two. Throws as `updateTurn` would (SessionTakenOver).
 */
async function storeAgentTurnId(
  ctx: TurnExecutionContext,
  sessionId: string,
  turnId: string,
  agentTurnId: string,
  started: AgentEvent,
): Promise<void> {
  const at = new Date().toISOString()
  // held through a brief store outage, as the turn's other events are (EventLog.outageGraceMs)
  await ctx.log.commitWith(
    sessionId,
    (tx = ctx.store) =>
      tx.updateTurnWithEvents(turnId, { agentTurnId }, undefined, ctx.claim, () => [
        { ownerId: sessionId, event: started, at, fence: ctx.claim },
      ]),
    true,
  )
}

/**
 * Settles with undefined once `forced` aborts (the turn's end was recorded by force): made once per turn and raced
 * with each of the agent's events, so the hot path adds no listener or promise per event.
 */
function whenForced(forced: AbortSignal | undefined): Promise<undefined> | undefined {
  if (!forced) return undefined
  if (forced.aborted) return Promise.resolve(undefined)
  return new Promise<undefined>((resolve) =>
    forced.addEventListener('abort', () => resolve(undefined), { once: true }),
  )
}

/** Until the microtasks queued now have run: an agent that was just asked to start has written its request. */
const afterThisTick = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Why a turn the gateway's stop interrupted ended (its agent says only `interrupted`). */
export const shutdownTurnError = 'interrupted: the server shut down during the turn'

/** A turn as it starts running (the session's state, running or waiting for an approval, is recomputed with it). */
const runningPatch = (): Partial<Turn> => ({ status: 'running', startedAt: new Date().toISOString() })

/**
 * One turn of a live agent session: its events redacted, tagged with the turn id and stored as they come
 * (what the agent sends together is stored in one commit), except the turn's end, which is returned; undefined
 * when the turn's row, stored after the agent's start (storeTurn), was refused.
 */
export async function executeTurn(
  ctx: TurnExecutionContext,
  sessionId: string,
  agent: AgentSession,
  turn: Turn,
  signal: AbortSignal,
  options?: TurnOptions,
): Promise<TurnOutcome | undefined> {
  let finalResponse: string | null = null
  let ended: Partial<Turn> = { status: 'failed', error: 'the agent ended the turn without a result' }
  // An event refused because another node took the session over: this node lets go of it at once (its agent's
  // turn is interrupted), not only when the turn ends. Refused otherwise (the store's database down, its disk
  // full): nothing more of the turn can be stored, so its agent's turn is interrupted at once too, not at its next
  // event (a command it runs for minutes, unrecorded meanwhile, the turn `running`).
  const storeRefused = new AbortController()
  const events = new EventPipe(ctx.log, sessionId, ctx.claim, (err) => {
    if (err instanceof SessionTakenOver) void ctx.takenOver(err).catch(() => {})
    else storeRefused.abort('store_failed')
  })
  // a step of the turn's own that the store failed (its agent's turn id with its turn.started): the store's failure
  let storeFailure: unknown
  let end: AgentEvent | undefined
  let agentTurn: AsyncIterator<AgentEvent> | undefined
  // the copies of the turn's images: removed however it ends
  let staged: StagedTurnInput | undefined
  try {
    let first: Promise<IteratorResult<AgentEvent>> | undefined
    let refused: unknown
    try {
      await ctx.beforeStart()
      staged = await ctx.stageInput?.(turn.input)
      // The agent starts first (codex writes `turn/start` within this tick); the turn's row (when startTurn left
      // it for now), its running mark and the session's state are stored while it works. Its events are read
      // (and stored) only after that.
      const agentSignal = AbortSignal.any([signal, storeRefused.signal])
      agentTurn = agent.turn(staged?.input ?? turn.input, agentSignal, options)[Symbol.asyncIterator]()
      first = agentTurn.next()
      first.catch(() => {})
      await afterThisTick()
    } catch (err) {
      refused = err
    }
    let storedRunning = false
    try {
      // ended by force before it started (its budget gate, its store stalled): not marked running over that end
      if (ctx.end?.forced.aborted) throw ctx.end.forced.reason
      storedRunning = (await ctx.storeTurn?.(runningPatch())) ?? false
      if (ctx.end?.forced.aborted) throw ctx.end.forced.reason
    } catch {
      // not stored (its start was answered with why), or ended by force: the agent's turn stops, unread and
      // unrecorded
      void agentTurn?.return?.()?.catch(() => {})
      return undefined
    }
    // A turn refused before the agent started is recorded as started and failed, like one the agent failed.
    if (!storedRunning) await ctx.markRunning(runningPatch())
    if (first === undefined) throw refused
    const forced = ctx.end?.forced
    const forcedEnd = whenForced(forced)
    // the agent's next event, or undefined once the force recorded the turn's end
    const nextOf = (event: Promise<IteratorResult<AgentEvent>>) =>
      forcedEnd ? Promise.race([event, forcedEnd]) : event
    for (let next = await nextOf(first); ; next = await nextOf(agentTurn!.next())) {
      // ended by force (its end recorded): what its agent sends now is not read; its driver closes the turn
      if (next === undefined || forced?.aborted) {
        void agentTurn?.return?.()?.catch(() => {})
        await events.drain().catch(() => {})
        return undefined
      }
      if (next.done) break
      // each private copy of its images named as the client named the image
      const unredacted = staged ? staged.shown(next.value) : next.value
      // The manager owns the session state, and recomputes it when what it follows changes: a turn starts or
      // ends (runTurn), an approval is asked or answered (the approval broker). The agent's own status
      // notifications add nothing to that, and are neither stored nor redacted.
      if (unredacted.type === 'session.status') continue
      // tagged with the gateway's turn id first, so the event redacted is the one stored (the log knows it is
      // clean: the turn's end is not walked again when it is stored)
      const ev = ctx.log.redact(withTurnId(unredacted, turn))
      if (ev.type === 'item.completed' && ev.item.type === 'agent_message') finalResponse = ev.item.text
      if (!isWorkEvent(ev))
        switch (ev.type) {
          case 'session.status':
            continue // not here: left out before the redaction
          case 'turn.started':
            if (unredacted.type === 'turn.started' && unredacted.turnId) {
              // the agent's turn id is stored with the event that announces it, in one transaction
              const agentTurnId = ctx.log.redactor.text(unredacted.turnId)
              await storeAgentTurnId(ctx, sessionId, turn.id, agentTurnId, ev).catch((err: unknown) => {
                storeFailure = err
                throw err
              })
              continue
            }
            break
          case 'turn.completed':
            ended = { status: ev.status ?? 'completed', usage: ev.usage, error: ev.error ?? null }
            // interrupted by the gateway's stop, not by a client: the turn says so, as a run does
            if (ev.status === 'interrupted' && !ev.error && signal.reason === 'shutdown') {
              ended.error = shutdownTurnError
              end = { ...ev, error: shutdownTurnError }
              continue
            }
            break
          case 'turn.failed':
            ended = { status: 'failed', error: ev.error }
            break
          // run events of the agent's own process, and a steer, its refusal or failure (the gateway records its own:
          // SessionState.steer, unsteer, withdrawSteer): stored as they are
          case 'turn.steered':
          case 'turn.steer_refused':
          case 'turn.steer_failed':
          case 'run.queued':
          case 'run.started':
          case 'agent.session':
          case 'run.completed':
            break
          default:
            assertNever(ev, 'event type')
        }
      if (ev.type === 'turn.completed' || ev.type === 'turn.failed') end = ev
      else {
        const full = events.push(ev)
        if (full) await full
      }
    }
    agentTurn = undefined
    // the agent's turn is over: what it sent last is stored now, not a loop turn later
    ctx.log.commitNow()
    await events.drain()
  } catch (err) {
    // the reader stops: the agent must not go on unobserved (its generator interrupts the turn)
    void agentTurn?.return?.()?.catch(() => {})
    await events.drain().catch(() => {})
    const message = (err as Error).message
    const plain = err instanceof TurnRefused || err instanceof AppError
    // an event the store refused (its disk full, its database down) is the store's failure, not the agent's
    const why =
      events.failed || (storeFailure !== undefined && err === storeFailure)
        ? `storing its events failed: ${message}`
        : plain
          ? message
          : `driver error: ${message}`
    ended = { status: 'failed', error: ctx.log.redactor.text(why) }
    end = { type: 'turn.failed', turnId: turn.id, error: ended.error! }
  } finally {
    await staged?.dispose()
  }
  return { ended, finalResponse, end }
}
