import type { AgentRegistry } from '../agents/registry.js'
import type { SessionHooks, TurnInput, TurnOptions } from '../agents/session.js'
import type { Config } from '../config/load.js'
import { AppError, orNotFound } from '../protocol/errors.js'
import type { StoredEvent } from '../protocol/events.js'
import type { Item } from '../protocol/items.js'
import type { Session, Turn } from '../protocol/sessions.js'
import {
  type SessionClaim,
  type SessionFilter,
  SessionTakenOver,
  type Store,
  type TakenSession,
} from '../store/store.js'
import type { ActiveRuns } from './active-runs.js'
import type { ApprovalBroker } from './approvals.js'
import { ArchiveGate } from './archive-gate.js'
import { type EndRetry, recordEnd } from './end-retry.js'
import type { EventLog } from './event-log.js'
import { holdsHistory } from './held-history.js'
import { checkInputSize, smallestInputLimit, textChars } from './input-size.js'
import { hasTurns, type LiveSession, LiveSessions } from './live-sessions.js'
import type { FencingNotices } from './ops/fencing-notices.js'
import type { SessionNotices } from './ops/session-notices.js'
import { makeOnce } from './request-keys.js'
import { checkTurnSandbox } from './sandbox-policy.js'
import { createSession, forkSession, type SessionCreationContext } from './session-creation.js'
import { recoverClaimed, recoverSessions } from './session-recovery.js'
import { type CreateSession, sessionDriverOf } from './session-request.js'
import { type RecordedSteer, SessionState } from './session-state.js'
import type { TurnEndClaim } from './turn-end-claim.js'
import { runTurn, TurnRefused } from './turn-execution.js'
import { checkTurnImages, stageTurnInput } from './turn-images.js'
import { itemsOfTurn } from './turn-items.js'
import { turnOptionsOf } from './turn-options.js'
import { type LeftSteer, type OnBusy, queuedTurn, TurnQueue } from './turn-queue.js'
import { resolveCwd } from './workspace.js'

/**
 * How long an archive waits for its interrupted turn to end before it closes the agent all the same (a round; three
 * at most). A turn whose agent ended it and whose end the store refuses (its disk full) is waited for past it.
 */
const archiveWaitMs = 10_000

/**
 * What an archive is answered with when its running turn's end, which the store refused, was given up: the gateway
 * stops (its next start records the end, and the session can be archived then), or another node took it over.
 */
const endNotStored = (id: string, turnId: string, accepting: boolean) =>
  accepting
    ? new AppError('session_taken_over', `another node took session ${id} over before turn ${turnId} ended`)
    : new AppError(
        'shutting_down',
        `the server is stopping before the end of turn ${turnId} could be stored (the store refused it): session ${id} is not archived; archive it again once the gateway is back`,
      )

/** An agent that could not be reached for an archive: its error, in its own words. */
interface Unreachable {
  error: string
}
const isLive = (opened: LiveSession | Unreachable): opened is LiveSession => !('error' in opened)

/**
 * The gateway's own refusals, which an archive answers with as before: the server stops, the session was taken
 * over or archived meanwhile, this node was taken for dead. Any other error of the agent's part of an archive
 * (the agent cannot start, its resume or archive failed, the session's cwd is no longer allowed) is the agent's.
 */
const gatewayRefusals: ReadonlySet<string> = new Set([
  'shutting_down',
  'session_taken_over',
  'worker_unavailable',
  'conflict',
  'not_found',
])

/** `work`'s result, or the agent's error when it failed for a reason of the agent's (see gatewayRefusals). */
async function agentSide<T>(work: () => Promise<T>): Promise<T | Unreachable> {
  try {
    return await work()
  } catch (err) {
    if (err instanceof SessionTakenOver || (err instanceof AppError && gatewayRefusals.has(err.code)))
      throw err
    return { error: (err as Error)?.message ?? String(err) }
  }
}

export type { CreateSession, OnBusy }

/**
 * Sessions as durable resources: a session is the agent's own thread; its turns run one at a time (others
 * queue, steer or are refused: turn-queue.ts), and every event goes through the EventLog under the session's id,
 * so clients replay and follow a session like a run. The session's state (idle, running, waiting_for_approval,
 * archived) is computed (session-state.ts) and always visible. Live agent sessions (live-sessions.ts) are
 * reopened lazily after a restart of the gateway or of the agent. This class puts those together.
 */
export class SessionManager {
  private readonly live: LiveSessions
  private readonly turnQueue: TurnQueue
  private readonly state: SessionState
  private readonly creation: SessionCreationContext
  private accepting = true
  /** The turn startTurn is queueing right after it confined the session's cwd (see beforeStart). */
  private confinedNow: Turn | undefined
  /** Turns that started at once, whose rows are stored once their agent got them (see startTurn). */
  private readonly unstored = new Map<string, StoredRow>()
  /** Turn starts and forks wait for no archive, and an archive for them (archive-gate.ts). */
  private readonly archives = new ArchiveGate()
  /** Aborted when the turn ends here: the approvals its agent asked for it are cancelled then (see hooks). */
  private readonly turnEnds = new Map<string, AbortController>()
  approvals!: ApprovalBroker
  /** Runs before each turn: null to go on, or why the turn may not run (budgets, core/ops/session-budget.ts). */
  budgetGate?: (
    sessionId: string,
    turnId: string,
    signal: AbortSignal,
    /** The session's claim this node holds: what the gate stores for the session carries it. */
    claim: SessionClaim,
  ) => Promise<string | null>
  /** Where a session let go (another node took it over) is told: a log line, a metric. */
  fencing?: FencingNotices
  /** archiveWaitMs unless a test says otherwise. */
  archiveWaitMs = archiveWaitMs
  /** Where a session archived without its agent's own record is told: a log line. */
  notices?: SessionNotices
  /** How a turn's end the store failed to record is tried again, and told (end-retry.ts). */
  endRetry?: EndRetry

  constructor(
    protected readonly store: Store,
    private readonly log: EventLog,
    private readonly registry: AgentRegistry,
    private readonly config: Config,
    active: ActiveRuns,
    /** The node (this gateway process) whose agent processes hold the sessions it opens. */
    protected readonly node: string,
  ) {
    const hooks = (id: string) => this.hooks(id)
    this.state = new SessionState(store, log, (id) => this.live.get(id)?.current !== undefined)
    this.live = new LiveSessions({
      store,
      registry,
      config,
      node,
      hooks,
      confine: (s) => this.confine(s),
      accepting: () => this.accepting,
      stillOwns: (id) => this.stillOwns(id),
      claimed: (session, claim) =>
        recoverClaimed(store, this.state, session, claim, {
          settleApprovals: (s) => this.approvals.recover([s]),
          heldHere: (turnId) => this.turnQueue.holds(turnId),
          failed: (id, turns) => this.fencing?.leftoversFailed(id, turns, node),
        }),
    })
    this.turnQueue = new TurnQueue({
      config,
      active,
      accepting: () => this.accepting,
      execute: (id, live, turn, controller, options, end) =>
        this.execute(id, live, turn, controller, options, end),
      forceEnd: (id, live, turn, why) => this.forceEnd(id, live, turn, why),
      nothingToStart: (id, live) => this.live.unloadWhenIdle(id, live),
      steering: (id, live, turn, input) => this.steering(id, live, turn, input),
      steerFailed: (id, live, failed, error) =>
        this.fenced(id, live, () => this.state.withdrawSteer(id, failed, error, live.claim)),
      steerQueued: (id, live, steer, input) => this.steerQueued(id, live, steer, input),
      steerLeft: (id, live, turn, left, ended) => this.steerLeft(id, live, turn, left, ended),
      neverStarting: (id, live, turn) =>
        this.state.endTurn(
          id,
          turn.id,
          { status: 'interrupted', error: 'the server stopped before this turn started' },
          live.claim,
        ),
    })
    this.creation = { store, log, registry, config, node, live: this.live, hooks }
  }

  /**
   * Sessions a lost node left mid-way: their turns failed, the sessions idle (their threads live on) and owned
   * by this node, which reopens them when they are next used. Returns them, with the claims this node got.
   */
  recover(
    lost: readonly string[],
    settleApprovals?: (s: TakenSession) => Promise<void>,
  ): Promise<TakenSession[]> {
    return recoverSessions(this.store, this.state, lost, this.node, settleApprovals)
  }

  /** A new session; `id`: chosen before (an Idempotency-Key held for it: request-keys.ts), default a new one. */
  async create(agentId: string, fields: CreateSession, id?: string): Promise<Session> {
    this.assertAccepting()
    return this.live.creation(() => createSession(this.creation, agentId, fields, id))
  }

  /**
   * `create(id)` once per Idempotency-Key `key` (its request's `digest`): the session the key made, replayed, when
   * it has one (request-keys.ts). `create` makes the session under the id it is given (on whichever node holds it).
   */
  async createOnce(
    key: string,
    digest: string,
    create: (id: string) => Promise<Session>,
  ): Promise<{ session: Session; replayed: boolean }> {
    const { made, replayed } = await makeOnce(
      this.store,
      key,
      digest,
      this.config.IDEMPOTENCY_KEY_TTL * 1000,
      {
        prefix: 'ses',
        load: (id) => this.store.getSession(id),
        make: create,
      },
    )
    return { session: made, replayed }
  }

  /** The session a client named itself, or undefined. */
  byExternalId(externalId: string): Promise<Session | undefined> {
    return this.store.findSessionByExternalId(externalId)
  }

  /** Whether a turn of the session is running in this process now. */
  isBusy(id: string): boolean {
    return this.live.get(id)?.current !== undefined
  }

  /** Whether a turn of the session is running now, wherever the session lives (ClusterSessions). */
  async busy(id: string): Promise<boolean> {
    return this.isBusy(id)
  }

  async fork(id: string): Promise<Session> {
    this.assertAccepting()
    return this.archives.track(id, async () =>
      this.live.creation(async () => forkSession(this.creation, await this.mustGet(id))),
    )
  }

  async archive(id: string): Promise<Session> {
    const session = await this.mustGet(id)
    if (session.status === 'archived') return session
    return this.archives.archive(id, () => this.archiveNow(session))
  }

  /**
   * Archives the session: its turns here end, its pending approvals are cancelled, its agent archives its own
   * record (its thread) and is let go, and the gateway's record is archived. When the agent cannot be reached
   * (it cannot start, or its archive fails), the gateway's record is archived all the same (a session could not
   * be got rid of otherwise): its `agentArchiveError` and its `archived` event say why, and a warning is logged.
   */
  private async archiveNow(session: Session): Promise<Session> {
    const { id } = session
    const opened = await agentSide(() => this.live.ensure(session))
    if (!isLive(opened)) return this.archiveWithoutAgent(session, opened.error)
    const live = opened
    return this.fenced(id, live, async () => {
      // The running turn ends (interrupted) before the session is archived: its end, stored after `archived`,
      // would reach no client (a session's event stream ends at `archived`). A turn queued meanwhile ends too.
      // An end the store refuses (its disk full) is waited for as long as it is tried again; one given up (the
      // gateway stops) leaves the session unarchived: `archived` is never stored before a turn's end.
      for (let round = 0; round < 3 && (live.current || live.queue.length); round++) {
        const running = live.current
        running?.controller.abort('cancelled')
        const queued = live.queue.splice(0)
        for (const [i, t] of queued.entries()) {
          const { recorded, takenOver } = await this.endOutside(id, t.id, () =>
            this.state.endTurn(id, t.id, { status: 'interrupted', error: 'session archived' }, live.claim),
          )
          this.turnQueue.release(t.id)
          if (recorded) continue
          for (const rest of queued.slice(i + 1)) this.turnQueue.release(rest.id)
          throw takenOver ?? endNotStored(id, t.id, this.accepting)
        }
        if (running && (await this.turnQueue.endRecorded(running.turn.id, this.archiveWaitMs)).gaveUp)
          throw endNotStored(id, running.turn.id, this.accepting)
      }
      // a turn ended by force had its agent session closed (forceEnd): archived in the agent reopened
      const held = this.live.get(id) === live ? live : await agentSide(() => this.live.ensure(session))
      if (!isLive(held)) return this.archiveWithoutAgent(session, held.error)
      // the ended turn's approvals are cancelled as it ends, but not in its step: answered here, before archived
      await this.approvals.cancelPending(id, 'session_archived')
      const archivedInAgent = await agentSide(() => this.live.archive(id, held))
      if (archivedInAgent !== undefined) return this.archived(session, archivedInAgent.error, held.claim)
      await this.state.set(id, 'archived', held.claim)
      return this.mustGet(id)
    })
  }

  /**
   * The archive of a session whose agent cannot be reached (none of it runs here): the session is claimed by
   * this node, as a reopen would claim it (fenced writes; a node taken for dead gets 503), then archived.
   */
  private async archiveWithoutAgent(session: Session, error: string): Promise<Session> {
    const claim = await this.store.claimSession(session.id, this.node)
    await this.approvals.cancelPending(session.id, 'session_archived')
    return this.archived(session, error, claim)
  }

  /**
   * The gateway's record archived, saying why the agent's own could not be (`error`: stored with the state, in
   * one store step), with a warning logged.
   */
  private async archived(session: Session, error: string, claim: SessionClaim): Promise<Session> {
    const { id } = session
    await this.state.set(id, 'archived', claim, { agentArchiveError: error })
    this.notices?.agentArchiveFailed(id, session.agent, error)
    return this.mustGet(id)
  }

  get(id: string): Promise<Session | undefined> {
    return this.store.getSession(id)
  }

  mustGet(id: string): Promise<Session> {
    return orNotFound(this.store.getSession(id), `session ${id}`)
  }

  /** Looks a session up by the agent's own id (the seed 003 API speaks codex thread ids). */
  byAgentSessionId(agentSessionId: string): Promise<Session> {
    return orNotFound(this.store.findSessionByAgentId(agentSessionId), `thread ${agentSessionId}`)
  }

  list(filter: SessionFilter): Promise<Session[]> {
    return this.store.listSessions(filter)
  }

  turns(id: string): Promise<Turn[]> {
    return this.store.listTurns(id)
  }

  getTurn(turnId: string): Promise<Turn> {
    return orNotFound(this.store.getTurn(turnId), `turn ${turnId}`)
  }

  /**
   * Starts a turn, or follows `onBusy` when one runs: queue it (default), steer the running one, or 409.
   * `options` apply to this turn alone, or are refused (400) before anything runs (turn-options.ts). `turnId`: the
   * new turn's id, chosen before (an Idempotency-Key held for it: startTurnOnce); not with `steer`, whose input may
   * go into the running turn instead of a new one.
   */
  async startTurn(
    id: string,
    input: TurnInput,
    onBusy: OnBusy = 'queue',
    options: TurnOptions = {},
    turnId?: string,
  ): Promise<Turn> {
    this.assertAccepting()
    if (turnId !== undefined) checkKeyedTurn(onBusy)
    return this.archives.track(id, () => this.startTurnNow(id, input, onBusy, options, turnId))
  }

  /**
   * startTurn() once per Idempotency-Key `key` (its request's `digest`, which names the session): the turn the
   * key made, replayed (as it is now), when it has one (request-keys.ts). Only with `onBusy` `queue` or `reject`
   * (400 otherwise): a steer's input may go into the running turn, which is not the key's to answer with.
   */
  async startTurnOnce(
    key: string,
    digest: string,
    id: string,
    input: TurnInput,
    onBusy: OnBusy,
    options: TurnOptions = {},
  ): Promise<{ turn: Turn; replayed: boolean }> {
    checkKeyedTurn(onBusy)
    const { made, replayed } = await makeOnce(
      this.store,
      key,
      digest,
      this.config.IDEMPOTENCY_KEY_TTL * 1000,
      {
        prefix: 'turn',
        load: (turnId) => this.store.getTurn(turnId),
        make: (turnId) => this.startTurn(id, input, onBusy, options, turnId),
      },
    )
    return { turn: made, replayed }
  }

  /**
   * Where a stream of the turn's events starts: before its first event stored, or (none stored yet: it is queued)
   * after the session's last one.
   */
  async turnEventsAfter(sessionId: string, turnId: string): Promise<number> {
    const last = (await this.mustGet(sessionId)).lastSeq
    for await (const ev of this.log.replay(sessionId))
      if ('turnId' in ev && ev.turnId === turnId) return ev.seq - 1
    return last
  }

  private async startTurnNow(
    id: string,
    input: TurnInput,
    onBusy: OnBusy,
    requested: TurnOptions,
    turnId: string | undefined,
  ): Promise<Turn> {
    // a turn naming a policy, an output schema or an image reads its session for it (its agent, its own policy, its cwd), and so does
    // one whose text is longer than some agent takes (its agent's limit): other turns need no read
    const session =
      requested.approvalPolicy ||
      requested.outputSchema ||
      input.some((part) => part.type !== 'text') ||
      textChars(input) > smallestInputLimit(this.registry.list())
        ? await this.mustGet(id)
        : undefined
    checkInputSize(input, session && this.registry.find(session.agent))
    if (session)
      checkTurnImages(
        this.registry,
        session,
        input,
        onBusy,
        this.config.workspaceRoots,
        this.config.MAX_IMAGE_BYTES,
      )
    const options = session ? turnOptionsOf(this.registry, session, requested, onBusy) : {}
    const live = (await this.heldForTurn(id)) ?? (await this.openForTurn(id))
    const { steeredInto, refused, settled, queuedAs } = await this.turnQueue.whenBusy(id, live, input, onBusy)
    // its steer was recorded and its agent did not answer before the turn's end was stored: it became this turn
    if (queuedAs) return queuedAs
    if (steeredInto) {
      // the running turn may have gone to its agent before its row was stored: answered once it is, as its own
      // start is (a read of the turn, on any node, then finds it)
      await this.unstored.get(steeredInto.id)?.stored
      return steeredInto
    }
    // the policy it runs with, for the record: the one it named (turnOptionsOf refused any it would not honour),
    // else its session's
    const turn = queuedTurn(id, input, requested.approvalPolicy ?? live.approvalPolicy, turnId)
    // A turn that starts at once with no budget gate before it goes to the agent first: its row is stored while
    // the agent works (execute's storeTurn), before its running mark and any of its events. `ensure` read that
    // this node still owns the session; the row's write is fenced by the claim as before, and a refused row
    // stops the agent's turn. A turn that waits in the queue, or for the budget gate, is stored before it queues,
    // and so is one whose input a refused steer had recorded: with that steer's withdrawal (SessionState.unsteer).
    const row = !refused && !hasTurns(live) && live.limited === false ? storedRow() : undefined
    if (row) this.unstored.set(turn.id, row)
    else if (refused)
      // the steered turn's end is stored after this (TurnQueue.settleSteers waits for it): it never claims the input
      await this.fenced(id, live, () => this.state.unsteer(id, refused, turn, live.claim)).finally(settled)
    else await this.fenced(id, live, () => this.store.createTurn(turn, live.claim))
    // A turn that starts at once (push runs its start up to the agent) was confined just now: see beforeStart.
    this.confinedNow = turn
    try {
      this.turnQueue.push(id, live, turn, options)
    } finally {
      this.confinedNow = undefined
    }
    if (row) await row.stored
    return turn
  }

  /**
   * The session held here for a new turn, from one read of its state instead of its document: its cwd and
   * whether it has limits are fixed at creation, so the live session's are the session's. An archive (by any
   * node) is seen in that read, and another node's takeover in the owner it reads with it (LiveSessions.held).
   * Undefined when this process does not hold it (or no longer owns it): openForTurn reads the document then. Each tenant scope
   * has a SessionManager of its own, which holds only sessions its own reads found: no other tenant's.
   */
  private async heldForTurn(id: string): Promise<LiveSession | undefined> {
    if (!this.live.has(id)) return undefined
    const state = await this.store.sessionState(id)
    if (state?.status === 'archived') throw new AppError('conflict', `session ${id} is archived`)
    // the owner came with the state: one read before the turn goes to the agent
    const live = state && (await this.live.held(id, state.owner))
    if (live) resolveCwd(live.cwd, this.config.workspaceRoots)
    return live
  }

  /** The session for a new turn, read in full and opened in its agent when this process does not hold it. */
  private async openForTurn(id: string): Promise<LiveSession> {
    const session = await this.mustGet(id)
    if (session.status === 'archived') throw new AppError('conflict', `session ${id} is archived`)
    this.confine(session)
    // the operator's consent to its sandbox still holds (a session held here was opened under this config)
    checkTurnSandbox(id, session.sandbox, this.config)
    return this.live.ensure(session)
  }

  /**
   * Stores the row of a turn that went to its agent before it was stored (startTurn), as it starts running with
   * the session's new state (one step), fenced by the session's claim; startTurn answers once it is stored, or
   * with why not. A refused row stops the agent's turn (throws).
   */
  private async storeStarted(
    id: string,
    live: LiveSession,
    turn: Turn,
    controller: AbortController,
    patch: Partial<Turn>,
  ): Promise<boolean> {
    const row = this.unstored.get(turn.id)
    if (!row) return false
    try {
      // the row as it starts running, with the session's new state: one step (SessionState.startTurn)
      await this.fenced(id, live, () => this.state.startTurn(id, turn.id, patch, live.claim, turn))
      row.resolve()
      return true
    } catch (err) {
      controller.abort('cancelled')
      row.reject(err)
      throw err
    } finally {
      // unstored until its write is done: a steer into it (startTurn) and an approval it asks wait for that
      this.unstored.delete(turn.id)
    }
  }

  /**
   * `input` goes to the running `turn` now (a steer): recorded first (the turn's `steered`, its `turn.steered`
   * event), fenced by the session's claim. A turn that went to its agent before its row was stored is recorded once
   * that row is (its write failed: the steer fails with it).
   */
  private async steering(
    id: string,
    live: LiveSession,
    turn: Turn,
    input: TurnInput,
  ): Promise<RecordedSteer | undefined> {
    await this.unstored.get(turn.id)?.stored
    return this.fenced(id, live, () => this.state.steer(id, turn.id, input, live.claim))
  }

  /** Resolves with the turn once it finished (or at once if it already did). */
  async waitTurn(turnId: string, timeoutMs?: number): Promise<Turn> {
    // the turn as its end was stored, when this process ran it to its end; read otherwise
    return (await this.turnQueue.ended(turnId, timeoutMs)) ?? this.getTurn(turnId)
  }

  /** Whether the turn was started by this process and has not ended yet. */
  protected holdsTurn(turnId: string): boolean {
    return this.turnQueue.holds(turnId)
  }

  /** Interrupts the running turn; resolves with it once it ended. 409 when nothing runs. */
  async interrupt(id: string): Promise<Turn> {
    await this.mustGet(id)
    const current = this.live.get(id)?.current
    if (!current) throw new AppError('conflict', `session ${id} has no turn in progress`)
    current.controller.abort('cancelled')
    return this.waitTurn(current.turn.id)
  }

  events(id: string, after: number, signal?: AbortSignal): AsyncGenerator<StoredEvent> {
    return this.log.subscribe(
      id,
      after,
      (ev) => ev.type === 'session.status' && ev.status === 'archived',
      async () => (await this.store.getSession(id))?.status === 'archived',
      signal,
    )
  }

  /** The agent's own record of the thread (codex `thread/read`), reopening the session if needed. */
  async read(id: string, includeTurns: boolean): Promise<unknown> {
    const session = await this.mustGet(id)
    const live = await this.live.ensure(session)
    // codex cannot list the turns of a thread that has none yet ("not supported yet"); there are none to list.
    // A fork holds its parent's first `forkedAtTurn` turns (codex's thread/fork copies them), a fork of a fork
    // before its first turn what that one held (held-history.ts).
    return live.agent.read(includeTurns && (await this.holdsHistory(session)))
  }

  /** Whether the agent holds a turn of the session's thread, its own or one a fork got with it (held-history.ts). */
  holdsHistory(session: Session): Promise<boolean> {
    return holdsHistory(session, (id) => this.store.getSession(id))
  }

  /** Reopens the session in the agent now (seed 003 `thread/resume`); a no-op when it is already open. */
  async resume(id: string): Promise<Session> {
    await this.live.ensure(await this.mustGet(id))
    return this.mustGet(id)
  }

  /** The items a turn completed, from the stored events (between its turn.started and its end). */
  itemsOfTurn(sessionId: string, turnId: string): Promise<Item[]> {
    return itemsOfTurn(this.log, sessionId, turnId)
  }

  /** Passes an agent-specific call through (seed 003: skills/list, skills/config/write, thread/read). */
  call(agentId: string, method: string, params: unknown): Promise<unknown> {
    return sessionDriverOf(this.registry, agentId).call(method, params)
  }

  /** Recomputes and records the session's state when it changed. */
  async refreshStatus(id: string): Promise<void> {
    const live = this.live.get(id)
    if (!live) return this.state.refresh(id)
    await this.fenced(id, live, () => this.state.refresh(id, live.claim))
  }

  stopAccepting(): void {
    this.accepting = false
  }

  /** Ends what the drivers hold for live sessions (the agents' histories stay). */
  closeAll(): Promise<void> {
    return this.live.closeAll()
  }

  idle(): Promise<void> {
    return this.turnQueue.idle()
  }

  /** Whether the session is loaded in its agent now (not unloaded for idleness, not yet resumed). */
  isLoaded(id: string): boolean {
    return this.live.has(id)
  }

  /**
   * After this node was taken for dead: lets go of the sessions another node took over (their running turn is
   * interrupted and not recorded, their agent closed); their next use reopens them where they are placed.
   */
  dropTakenOver(): Promise<number> {
    return this.live.dropTakenOver((id, live) => {
      this.endHeldTurns(live, new SessionTakenOver(id, null))
      this.fencing?.sessionLetGo(id, this.node, null)
    })
  }

  /**
   * `write` for session `id`, held here as `live`; when the store refuses it because another node took the
   * session over (SessionTakenOver), this node lets go of the session, and the error goes on to the caller (503).
   */
  private async fenced<T>(id: string, live: LiveSession, write: () => Promise<T>): Promise<T> {
    try {
      return await write()
    } catch (err) {
      if (err instanceof SessionTakenOver) await this.letGo(id, live, err)
      throw err
    }
  }

  /** Lets go of a session another node took over: its turns here end (their waiters get `err`), its agent closes. */
  private async letGo(id: string, live: LiveSession, err: SessionTakenOver): Promise<void> {
    if (await this.live.letGo(id, live, () => this.endHeldTurns(live, err)))
      this.fencing?.sessionLetGo(id, this.node, err.owner)
  }

  /** The turns this node holds for a session taken over: the running one interrupted, none recorded here. */
  private endHeldTurns(live: LiveSession, err: SessionTakenOver): void {
    for (const t of live.queue.splice(0)) {
      this.turnQueue.refuse(t.id, err)
      this.turnQueue.release(t.id)
    }
    if (live.current) this.turnQueue.refuse(live.current.turn.id, err)
    live.current?.controller.abort()
  }

  /**
   * A running turn whose agent did not stop within its bound after its interrupt (turn-queue.ts): its end is
   * recorded (`interrupted`, `why`) with the session's new state and announced, in the store's turn-end step fenced
   * by the session's claim, as the agent's own end would be; whoever waits for it is answered. The driver lets go
   * of the agent session (closes it: its processes end; the gateway signals none itself), and the session's next
   * turn reopens it (resumeSession): its queued turns go on in the session reopened now. An end the store refuses
   * (its disk full) is tried again as the agent's own end is (end-retry.ts), until stored or the gateway stops: its
   * agent is closed at the first refusal, the session stays busy with the turn meanwhile (new turns queue behind it).
   * Undefined when another node took the session over (then nothing is recorded here, and this node let go of it).
   */
  private async forceEnd(
    id: string,
    live: LiveSession,
    turn: Turn,
    why: string,
  ): Promise<LiveSession | undefined> {
    const at = new Date().toISOString()
    const ended = () => {
      if (live.current?.turn === turn) live.current = undefined
      this.endApprovalsOf(turn.id)
    }
    // the client following the session sees why, as the stored turn says
    const end = {
      type: 'turn.completed',
      turnId: turn.id,
      status: 'interrupted',
      usage: null,
      error: why,
    } as const
    const patch = { status: 'interrupted', error: why, finishedAt: at } as const
    let stored: Turn | undefined
    try {
      // the steers its agent is not known to have taken are withdrawn first: the forced end never claims them
      await this.turnQueue.settleSteers(id, live, turn, patch, true)
      const { recorded, takenOver } = await this.endOutside(id, turn.id, async () => {
        try {
          stored = await this.fenced(id, live, () =>
            this.state.completeTurn(id, turn.id, patch, at, ended, live.claim, end),
          )
        } catch (err) {
          // refused (its disk full): its agent is let go now, not once the store takes the end
          void this.live.closeAgent(live)
          throw err
        }
      })
      if (takenOver) return undefined
      if (recorded) this.turnQueue.answer(turn.id, stored)
    } finally {
      this.live.unload(id, live)
    }
    if (live.queue.length === 0 || !this.accepting) return live
    return this.reopenForQueued(id, live)
  }

  /**
   * `record` (the store step that ends a turn from outside: by force, or a queued turn that will not run), again
   * while the store refuses it (its disk full, its database down: end-retry.ts) until it is stored, another node
   * took the session over (`takenOver`: nothing more is recorded here), or the gateway stops (its next start records
   * the end: session-recovery.ts). Before, such an end was tried once: the turn stayed `running` (or `queued`) for
   * good, its session stuck.
   */
  private async endOutside(
    id: string,
    turnId: string,
    record: () => Promise<void>,
  ): Promise<{ recorded: boolean; takenOver?: SessionTakenOver }> {
    let takenOver: SessionTakenOver | undefined
    const recorded = await recordEnd(
      record,
      { name: `turn ${turnId} of session ${id}`, ids: { sessionId: id, turnId } },
      (err) => {
        if (err instanceof SessionTakenOver) takenOver = err
        return takenOver === undefined && this.accepting
      },
      this.endRetry,
    )
    return { recorded, takenOver }
  }

  /**
   * The turns queued in a session whose agent was let go (forceEnd) move to the session reopened in its agent;
   * when it cannot be reopened they fail, saying why.
   */
  private async reopenForQueued(id: string, closed: LiveSession): Promise<LiveSession> {
    try {
      const next = await this.live.ensure(await this.mustGet(id))
      next.queue.push(...closed.queue.splice(0))
      return next
    } catch (err) {
      for (const t of closed.queue.splice(0)) {
        const error = `the session could not be reopened: ${(err as Error).message}`
        // one the store refuses (its disk full) is tried again: not left `queued` for good
        await this.endOutside(id, t.id, () =>
          this.state.endTurn(id, t.id, { status: 'failed', error }, closed.claim),
        )
        this.turnQueue.release(t.id)
      }
      return closed
    }
  }

  /** Whether this node still holds the session (in a cluster another node may have taken it over). */
  protected async stillOwns(_id: string): Promise<boolean> {
    return true
  }

  private async execute(
    id: string,
    live: LiveSession,
    turn: Turn,
    controller: AbortController,
    options: TurnOptions,
    end: TurnEndClaim,
  ): Promise<void> {
    try {
      await this.runTurn(id, live, turn, controller, options, end)
      // a driver may have gone on in a new agent session (an ACP one reopened anew after its process ended)
      await this.live.storeAgentSessionId(id, live)
    } catch (err) {
      this.unstored.get(turn.id)?.reject(err)
      throw err
    } finally {
      // a turn that ended before its row was stored: startTurn is not left waiting
      this.unstored.get(turn.id)?.reject(new Error(`turn ${turn.id} ended before it was stored`))
      this.unstored.delete(turn.id)
      // however it ended (its end refused, the store failed): nobody can answer its approvals for it any more
      this.endApprovalsOf(turn.id)
    }
  }

  /** The signal the turn's end aborts here (made on first use, while the turn runs). */
  private turnEnd(turnId: string): AbortSignal {
    let end = this.turnEnds.get(turnId)
    if (!end) {
      end = new AbortController()
      this.turnEnds.set(turnId, end)
    }
    return end.signal
  }

  private endApprovalsOf(turnId: string): void {
    this.turnEnds.get(turnId)?.abort()
    this.turnEnds.delete(turnId)
  }

  private async runTurn(
    id: string,
    live: LiveSession,
    turn: Turn,
    controller: AbortController,
    options: TurnOptions,
    end: TurnEndClaim,
  ): Promise<void> {
    await runTurn(
      {
        log: this.log,
        end,
        store: this.store,
        claim: live.claim,
        storeTurn: (patch) => this.storeStarted(id, live, turn, controller, patch),
        markRunning: (patch) => this.state.startTurn(id, turn.id, patch, live.claim),
        markEnded: (patch, at, ended, end) =>
          this.state.completeTurn(id, turn.id, patch, at, ended, live.claim, end),
        beforeStart: async () => {
          // limits are set when a session is created, never after: without them there is nothing to read
          const refused =
            live.limited === false
              ? null
              : await this.budgetGate?.(id, turn.id, controller.signal, live.claim)
          if (refused) throw new TurnRefused(refused)
          // The directory may have been replaced (e.g. by a symlink out of the workspace) since the session
          // was created or the turn queued: check again right before the agent works in it (a turn that
          // starts as it is queued was checked by startTurn a moment ago).
          if (this.confinedNow !== turn) resolveCwd(live.cwd, this.config.workspaceRoots)
        },
        stageInput: (input) =>
          stageTurnInput(input, live.cwd, this.config.workspaceRoots, this.config.DATA_DIR, turn.id, {
            maxImageBytes: this.config.MAX_IMAGE_BYTES,
            ...(live.agent.imageDir
              ? {
                  into: live.agent.imageDir,
                  ...(live.agent.imageDirSeenAt ? { seenAt: live.agent.imageDirSeenAt } : {}),
                }
              : { container: live.inContainer }),
          }),
        steersLeft: (ended) => this.steersLeft(id, live, turn, ended),
        takenOver: (err) => this.letGo(id, live, err),
        turnEnded: () => {
          if (live.current?.turn === turn) live.current = undefined
          this.endApprovalsOf(turn.id)
        },
        recorded: (ended) => this.turnQueue.answer(turn.id, ended),
        stopping: () => !this.accepting,
        ...(this.endRetry ? { endRetry: this.endRetry } : {}),
      },
      id,
      live.agent,
      turn,
      controller.signal,
      options,
    )
  }

  /**
   * `turn`'s agent ended it (`ended`: how): its steers are settled before its end is stored, each recorded one's
   * answer waited for (TurnQueue.settleSteers).
   */
  private steersLeft(id: string, live: LiveSession, turn: Turn, ended: Partial<Turn>): Promise<void> {
    return this.turnQueue.settleSteers(id, live, turn, ended)
  }

  /**
   * A recorded steer becomes the next turn, first in the queue (its turn ended without it: steerLeft, or its agent
   * did not answer before that end was stored: TurnQueue.settleSteers): stored with the steer's withdrawal
   * (SessionState.unsteer, `turn.steer_refused`), as a steer that finds the turn ended does.
   */
  private async steerQueued(
    id: string,
    live: LiveSession,
    steer: RecordedSteer,
    input: TurnInput,
  ): Promise<Turn> {
    const next = queuedTurn(id, input, live.approvalPolicy)
    await this.fenced(id, live, () => this.state.unsteer(id, steer, next, live.claim))
    this.turnQueue.push(id, live, next, {}, true)
    return next
  }

  /**
   * A steer its agent accepted into `turn` and ended it without (codex drops one still pending when its turn is
   * interrupted; TurnQueue.settleSteers): the client was answered that the input went into the turn, so it is not
   * left claimed there. A turn that completed had it come too late: it becomes the next turn, first in the queue
   * (SessionState.unsteer, `turn.steer_refused`), as a steer that finds the turn ended does. A turn interrupted or
   * failed (or ended by force) was stopped: its input is withdrawn (SessionState.withdrawSteer,
   * `turn.steer_failed`), in no turn, for the client to send again. A store that refuses it leaves the steer
   * recorded (warned): the turn's end is stored all the same.
   */
  private async steerLeft(
    id: string,
    live: LiveSession,
    turn: Turn,
    { steer, input }: LeftSteer,
    ended: Partial<Turn>,
  ): Promise<void> {
    try {
      if (ended.status === 'completed') await this.steerQueued(id, live, steer, input)
      else {
        const why = `the turn ended (${ended.status}) before the agent took the steered input`
        await this.fenced(id, live, () => this.state.withdrawSteer(id, steer, why, live.claim))
      }
    } catch (err) {
      process.emitWarning(
        `steer ${steer.seq} of turn ${turn.id} (session ${id}) stays recorded: ${(err as Error)?.message ?? err}`,
        'SteerLeft',
      )
    }
  }

  private hooks(sessionId: string): SessionHooks {
    return {
      requestApproval: async (ask, signal) => {
        const live = this.live.get(sessionId)
        const turnId = live?.current?.turn.id
        // Asked when no turn of ours runs (codex may ask after the turn it belongs to was interrupted): nobody can
        // answer it for a turn, and it must not be announced after the turn's end (or after `archived`).
        if (!turnId) return ask.options.includes('cancel') ? 'cancel' : 'decline'
        // Cancelled when that turn ends here, whatever the agent's signal says: codex may ask after its own turn
        // ended (no turn of its own runs then, so nothing of its aborts) and before the gateway stored that end,
        // and such an approval waited for APPROVAL_TIMEOUT_SECONDS, its session `waiting_for_approval` meanwhile.
        // Taken now, in the tick that saw the turn running: the turn's end aborts it.
        const ended = AbortSignal.any([signal, this.turnEnd(turnId)])
        // an approval names its turn: that turn's row is stored first (startTurn stores it after its start)
        await this.unstored.get(turnId)?.stored
        // fenced by the claim this node holds (an approval asked after a takeover is refused)
        return this.approvals.request(sessionId, turnId, ask, ended, live?.claim)
      },
      // kept with the session (fenced by the claim this node holds), given back when it is reopened; redacted as
      // events are (a rule with a secret in its command no longer matches after a reopen: it is asked again)
      allowedForSession: async (rules) => {
        const live = this.live.get(sessionId)
        const kept = this.log.redactor.value([...rules])
        if (live) await this.store.updateSession(sessionId, { allowedForSession: kept }, live.claim)
      },
    }
  }

  /** Confinement holds for every turn, not only at creation: the session's cwd must still resolve inside a root. */
  private confine(s: Session): void {
    resolveCwd(s.cwd, this.config.workspaceRoots)
  }

  private assertAccepting(): void {
    if (!this.accepting)
      throw new AppError('shutting_down', 'the server is shutting down and accepts no new turns')
  }
}

/** A turn with an id chosen before (an Idempotency-Key's) is a new turn: `queue` or `reject`, never `steer`. */
function checkKeyedTurn(onBusy: OnBusy): void {
  if (onBusy === 'steer')
    throw new AppError(
      'invalid_request',
      'an Idempotency-Key is taken with onBusy "queue" (the default) or "reject", not "steer": a steer\'s input may go into the running turn, which is no new turn for the key to answer with. Send the steer without the key, or queue the turn',
    )
}

/** The row of a turn that started before it was stored: `stored` once it is (rejected with why not). */
interface StoredRow {
  stored: Promise<void>
  resolve(): void
  reject(err: unknown): void
}

function storedRow(): StoredRow {
  let resolve!: () => void
  let reject!: (err: unknown) => void
  const stored = new Promise<void>((ok, fail) => {
    resolve = ok
    reject = fail
  })
  // startTurn awaits it; a refusal nobody else waits for is no unhandled rejection
  stored.catch(() => {})
  return { stored, resolve, reject }
}
