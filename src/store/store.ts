import {
  AppError,
  externalIdTakenMessage,
  notAMemberMessage,
  sessionTakenOverMessage,
} from '../protocol/errors.js'
import type { AgentEvent, RunCompletedEvent, StoredEvent } from '../protocol/events.js'
import type { Run } from '../protocol/runs.js'
import type { Approval, Session, Turn } from '../protocol/sessions.js'
import type { WebhookDelivery } from '../protocol/webhooks.js'
import type { WriteProbe } from '../util/write-probe.js'

export interface RunFilter {
  status?: Run['status']
  agent?: string
  /** Return runs older than this run id (ids sort by creation time). */
  before?: string
  limit: number
  /** Only this tenant's runs; null: only runs without a tenant; undefined: every run. */
  tenant?: string | null
}

export interface SessionFilter {
  status?: Session['status']
  agent?: string
  before?: string
  limit: number
  /** Only this tenant's sessions; null: only sessions without a tenant; undefined: every session. */
  tenant?: string | null
}

/**
 * What an owner's event is appended with when the appending node may have lost the owner to another node (it was
 * taken for dead): checked in the append's own step, and the event is refused (nothing stored) once it is stale.
 * A session's events carry the session's claim the node holds (a number: SessionTakenOver once stale); a run's
 * events carry the node that executes the run (its id: RunTakenOver once another node owns the run).
 */
export type EventFence = SessionClaim | string

/** A session's event's fence: the claim (a run's node id there is a bug of the caller's). */
export function sessionFence(sessionId: string, fence: EventFence): SessionClaim {
  if (typeof fence !== 'number')
    throw new Error(`appendEvent: session ${sessionId} is fenced by a claim, not "${fence}"`)
  return fence
}

/** A run's event's fence: the node that executes it (a session's claim there is a bug of the caller's). */
export function runFence(runId: string, fence: EventFence): string {
  if (typeof fence !== 'string')
    throw new Error(`appendEvent: run ${runId} is fenced by its node, not ${fence}`)
  return fence
}

/** One event waiting to be stored for its owner (a run or a session), stamped `at`. */
export interface EventToAppend {
  ownerId: string
  event: AgentEvent
  at: string
  /** The owner's fence the appending node holds (EventFence); none: stored unchecked. */
  fence?: EventFence
}

/** A gateway process as the store knows it: who it is, where it runs, when it last said it is alive. */
export interface NodeRecord {
  id: string
  /** `all`, `api` or `worker`. */
  role: string
  host: string
  pid: number
  startedAt: string
  heartbeatAt: string
  /**
   * The key of the liveness lock the node holds for its whole life (PostgreSQL: a session advisory lock on a
   * connection of its own, freed by the server the moment the process is gone); absent for a node without one (a
   * SQLite store, a gateway of before, or a node whose lock connection is down).
   */
  lockKey?: number
  /** For a node with a lockKey, whether the store found that lock held or free when it listed the nodes. */
  lock?: 'held' | 'free'
}

/** How an approval was answered (the fields `resolveApproval` writes). */
export interface ApprovalAnswer {
  decision: NonNullable<Approval['decision']>
  by: string
  resolvedAt: string
}

/**
 * A session's state as `sessionState` reads it: its status, whether an approval of it is pending, and the node
 * that owns it (`ownerOf`), in one read.
 */
export interface SessionStateRead {
  status: Session['status']
  pendingApproval: boolean
  owner: string | null
}

/**
 * A session's new state computed from its state as read inside the write's own transaction (undefined: leave it
 * as it is), so the read is not a store call of its own before the write.
 */
export type StatusFromRead = (read: SessionStateRead) => Session['status'] | undefined

/** Like StatusFromRead, for a step that stores the state with its time (`createTurnWithEvents`, `updateTurnWithEvents`). */
export type StateChangeFromRead = (read: SessionStateRead) => SessionStateChange | undefined

/** A session's new state, stored with another change (`updateTurn`) or alone (`setSessionStateWithEvents`). */
export interface SessionStateChange {
  status: Session['status']
  /** The session's `updatedAt`. */
  at: string
}

/** A session's new state stored alone (`setSessionStateWithEvents`), with fields of its document to store with it. */
export interface SessionStateSet extends SessionStateChange {
  /**
   * Merged into the session's document in the same step as the state, and only when the state is stored (an
   * archive's `agentArchiveError`): a crash leaves both or neither.
   */
  fields?: Partial<Omit<Session, 'id' | 'status' | 'updatedAt'>>
}

/** A turn as a step that may also set its session's state stored it. */
export interface TurnStep {
  turn: Turn
  /**
   * The session's state stored in the same step: what to announce. Undefined when none was asked, or when the
   * session was archived by then (it stays archived; nothing is announced).
   */
  status: Session['status'] | undefined
}

/**
 * Thrown by the steps that give a node work (admitRun with an owner, claimRun, claimNextRun, createSession,
 * claimSession) when the node is not a member: its record was removed or another node found it lost (taken for
 * dead). It registers again at its next heartbeat, once it let go of what was taken over: retry then.
 */
export class NotAMember extends AppError {
  constructor(readonly node: string) {
    super('worker_unavailable', notAMemberMessage(node), { retryAfterSeconds: 2 })
  }
}

/**
 * A session's ownership claim: a number the store bumps whenever a node claims the session (claimSession) or
 * takes it over (takeOverSessions); a new session has `firstClaim`. A node holds the claim it got with the
 * session and passes it with every write it makes for the session (createTurn, updateTurn, completeTurn,
 * setSessionStateWithEvents): a write whose claim is no longer the session's is refused in the same step
 * (SessionTakenOver), so a node that was taken for dead and wakes writes nothing over its successor's work.
 */
export type SessionClaim = number
export const firstClaim: SessionClaim = 1

/** A session taken over (Store.takeOverSessions), with the claim its taker holds from then on. */
export type TakenSession = Session & { claim: SessionClaim }

/**
 * Thrown by an append of a run's event (EventFence) by a node that no longer owns the run: another node took the
 * run over while this one was taken for dead (and recorded its end). Nothing was stored; the node stops the run's
 * agent. Never a client's answer: a run executes apart from any request.
 */
export class RunTakenOver extends Error {
  override name = 'RunTakenOver'
  constructor(
    readonly runId: string,
    /** The node appending (whose fence is stale). */
    readonly node: string,
    /** The run's owner now. */
    readonly owner: string | null,
  ) {
    super(
      `run ${runId} was taken over by ${owner ? `node ${owner}` : 'another node'}; ${node} no longer owns it`,
    )
  }
}

/**
 * Thrown by a session write whose claim is stale: another node claimed or took over the session since the
 * writer got its claim. Nothing of the write was stored. 503: the client retries, and the cluster places it.
 */
export class SessionTakenOver extends AppError {
  constructor(
    readonly sessionId: string,
    /** The session's owner now. */
    readonly owner: string | null,
  ) {
    super('session_taken_over', sessionTakenOverMessage(sessionId, owner), { retryAfterSeconds: 1 })
  }
}

/**
 * Thrown by createSession when another session has the new one's `externalId` (the stores' unique index: two
 * creators that both found it free). Nothing was stored. 409: the client picks another id, or uses that session.
 */
export class ExternalIdTaken extends AppError {
  constructor(readonly externalId: string) {
    super('conflict', externalIdTakenMessage(externalId), { externalId })
  }
}

export interface ApprovalFilter {
  state?: Approval['state']
  sessionId?: string
  limit?: number
  /** Only approvals of this tenant's sessions; null: of sessions without a tenant; undefined: all. */
  tenant?: string | null
}

/**
 * Durable state: runs, sessions, turns, approvals and their events. Everything is written here before a client sees it.
 * SQLite is the embedded default; the interface is async so a networked store fits behind it.
 *
 * Transitions several gateway processes may race for are single operations here, atomic in the store itself:
 * admitting a run against the capacity, claiming a queued run, answering a pending approval, counting a
 * finished turn. Runs and sessions record the node (gateway process) that owns them. Every implementation
 * passes test/contract/store-contract.ts.
 */
/** Sessions per state (Store.countSessions). */
export type SessionCounts = Partial<Record<Session['status'], number>>

/**
 * An Idempotency-Key (`POST /v1/runs`, `POST /v1/sessions`, `POST /v1/sessions/:id/turns`) held for what it makes:
 * the id of the run, session or turn (`resourceId`; stored in the `run_keys` table's `run_id` column, named before
 * sessions and turns took keys) and its request's digest (request-keys.ts).
 */
export interface RequestKeyHold {
  resourceId: string
  digest: string
}

/** A hold as the store has it: with `at`, when it was taken (or last taken over: Store.retakeRequestKey). */
export interface HeldRequestKey extends RequestKeyHold {
  at: string
}

export interface Store {
  readonly kind: string
  createRun(run: Run): Promise<void>
  /**
   * Holds `key`, an Idempotency-Key of `tenant` (null: untenanted), for `hold` taken `at`, unless a hold taken at
   * or after `keptSince` has the key: then answers that hold and holds nothing. Holds taken before `keptSince` (of
   * every key) are deleted first. One step: of two requests with one key, one holds it, the other gets its hold.
   */
  holdRequestKey(
    tenant: string | null,
    key: string,
    hold: RequestKeyHold,
    at: string,
    keptSince: string,
  ): Promise<HeldRequestKey | undefined>
  /** Lets go of `key`'s hold for `resourceId` (nothing was stored under it), so the key may be used again. */
  releaseRequestKey(tenant: string | null, key: string, resourceId: string): Promise<void>
  /**
   * Takes over `key`'s hold `held` (what it was held for never stored: its request failed without letting go) as
   * of `at`, unless it changed since it was read (released, expired, or taken over by another request); returns
   * whether it was. The hold keeps its id, so of the lost request and the one taking over, one at most is stored.
   */
  retakeRequestKey(tenant: string | null, key: string, held: HeldRequestKey, at: string): Promise<boolean>
  /**
   * Stores `run` (queued) owned by `owner` (null: not yet owned by any node, waiting for a worker), unless
   * `maxUnfinished` runs are already queued or running; false when it was not admitted. Throws NotAMember when
   * `owner` is not a member (see claimRun). `events` (its first, `run.queued`) are appended in the same
   * transaction, each as appendEvents would: all or none, so a write the store refuses (a full disk) leaves no
   * run behind. Returns the events stored (none asked: an empty array).
   */
  admitRun(
    run: Run,
    owner: string | null,
    maxUnfinished: number,
    events?: readonly EventToAppend[],
  ): Promise<StoredEvent[] | false>
  /**
   * Makes `node` the owner of queued run `id` unless another node claimed it first; the run, or undefined.
   * Only a member claims: a node whose record is gone or marked lost (markNodesLost) gets NotAMember, checked in
   * the same step as the claim (so no claim lands after the mark; see markNodesLost).
   */
  claimRun(id: string, node: string): Promise<Run | undefined>
  /** Claims the oldest queued run nobody has claimed (see claimRun). */
  claimNextRun(node: string): Promise<Run | undefined>
  /**
   * Merges `patch` into the run. With `owner` (the node that executes it, in a cluster), only while that node
   * owns the run, checked in the same step: false then, nothing stored (another node took the run over: its end
   * is that node's to record).
   */
  updateRun(id: string, patch: Partial<Omit<Run, 'id'>>, owner?: string): Promise<boolean>
  /**
   * `updateRun`, and `events` appended in the same transaction (each as appendEvents would) when the run was
   * updated: a run made running and its `run.started` in one commit, so no stored history has the one without
   * the other (a node stopped or killed between two commits left a running run without its start). Nothing is
   * stored when the update is refused (`updated` false).
   */
  updateRunWithEvents(
    id: string,
    patch: Partial<Omit<Run, 'id'>>,
    owner: string | undefined,
    events: readonly EventToAppend[],
  ): Promise<{ updated: boolean; events: StoredEvent[] }>
  getRun(id: string): Promise<Run | undefined>
  listRuns(filter: RunFilter): Promise<Run[]>
  /**
   * Stores the event with the next seq of its owner (a run or a session) and returns it stamped. With `fence`
   * (EventFence), only while it holds, checked in the same step: a session's claim no longer the session's is
   * refused with SessionTakenOver, a run's node no longer the run's owner with RunTakenOver; nothing stored.
   */
  appendEvent(ownerId: string, event: AgentEvent, at: string, fence?: EventFence): Promise<StoredEvent>
  /**
   * Stores several events in one transaction (group commit), in order, each as appendEvent would (an event's
   * `fence` checked in that transaction); all or none: when one fails (an unknown owner, a stale fence),
   * nothing of the batch is stored.
   */
  appendEvents(batch: readonly EventToAppend[]): Promise<StoredEvent[]>
  /**
   * Where a commit costs round trips (PostgreSQL): runs `fn` with `tx`, this store whose every call that would
   * commit a transaction of its own runs in one transaction instead, committed when `fn` resolves; all or none:
   * when `fn` throws, or a call of `tx` failed (caught or not), nothing of it is stored and this throws. The
   * EventLog commits its queued events and store steps (commitWith) in one such transaction, as a group. Absent
   * where a commit is cheap (SQLite): each step commits on its own.
   */
  inOneTransaction?<T>(fn: (tx: Store) => Promise<T>): Promise<T>
  /**
   * How many transactions the EventLog may run at once, each for other owners (its lanes: event-log-lanes.ts),
   * where transactions of different owners run side by side (PostgreSQL: a share of the pool, the rest left to
   * readers). Absent: one (SQLite has one writer).
   */
  readonly commitLanes?: number
  eventsAfter(ownerId: string, afterSeq: number, limit: number): Promise<StoredEvent[]>
  /**
   * Moves the runs still `queued` or `running` owned by one of `lost` to `to`, and returns them, oldest first:
   * of several nodes taking over at once, each run goes to exactly one.
   */
  takeOverRuns(lost: readonly string[], to: string): Promise<Run[]>
  /**
   * Moves the finished runs owned by one of `lost` whose stored events end without their `run.completed` (a
   * node of an earlier version died between a run's record and its end event: both are one write now) to `to`,
   * and returns them, oldest first: each run goes to one taker, which writes the missing end (appendRunEnd,
   * fenced by `to`).
   */
  takeOverRunsMissingEnd(lost: readonly string[], to: string): Promise<Run[]>
  /**
   * Stores `completed` as run `runId`'s next event, as appendEvent does (fenced by the node `fence`), unless the
   * run's last stored event is a `run.completed` already: undefined then, nothing stored (whatever the fence).
   * Checked in the same step, so a run's missing end is written once however many nodes try.
   */
  appendRunEnd(
    runId: string,
    completed: RunCompletedEvent,
    at: string,
    fence: string,
  ): Promise<StoredEvent | undefined>
  /** The node of a run or session (null when none owns it yet), undefined when there is no such resource. */
  ownerOf(id: string): Promise<string | null | undefined>
  /** Every node that owns an unfinished run or a session that is not archived. */
  ownersInUse(): Promise<string[]>
  /** Deletes finished runs (and their events) that finished before `cutoff`; returns how many. */
  deleteFinishedBefore(cutoff: string): Promise<number>
  /**
   * Stores a new session owned by `owner` (the node whose agent process holds its thread); NotAMember as in
   * claimRun, checked in the same step as the insert (nothing is stored then). Its claim is `firstClaim`. `events`
   * (its first `session.status`) are appended in the same transaction, each as appendEvents would: all or none, so
   * a write the store refuses (a full disk) leaves no session behind. Returns the events stored.
   */
  createSession(session: Session, owner: string, events?: readonly EventToAppend[]): Promise<StoredEvent[]>
  /**
   * Moves a session to `node` (it reopened the agent's thread there) and bumps its claim; the claim `node` now
   * holds. NotAMember as in claimRun.
   */
  claimSession(id: string, node: string): Promise<SessionClaim>
  /**
   * Moves the sessions (not archived) owned by one of `lost` to `to`, bumping their claims (what the lost nodes
   * still write for them is refused: SessionTakenOver), and returns them (each to one taker), each with the claim
   * `to` now holds: the taker's own writes for them (ending their turns, their state) carry it.
   */
  takeOverSessions(lost: readonly string[], to: string): Promise<TakenSession[]>
  /** Merges `patch` into the session; with `claim`, only while that is its claim (SessionTakenOver otherwise). */
  updateSession(
    id: string,
    patch: Partial<Omit<Session, 'id'>>,
    claim?: SessionClaim,
  ): Promise<Session | undefined>
  /**
   * Stores the session's new state, and `change.fields` with it in the same step, unless it is archived (an
   * archive that landed since the caller computed the state stays; archiving twice stores nothing the second
   * time), and the events `eventsOf` gives for it (told whether the state was stored) appended in the same
   * transaction, each as appendEvents would (fenced by its own `fence`): a state and its `session.status` (an
   * archive and its `archived`) in one commit, all or nothing. Returns whether the state was stored (what to
   * announce) and the events stored. With `claim`, SessionTakenOver (nothing stored) when the session's claim is
   * another by then.
   */
  setSessionStateWithEvents(
    id: string,
    change: SessionStateSet,
    claim: SessionClaim | undefined,
    eventsOf: (stored: boolean) => readonly EventToAppend[],
  ): Promise<{ stored: boolean; events: StoredEvent[] }>
  /**
   * What a session's state is computed from, in one read: its stored state, whether one of its approvals is
   * pending, and its owner (as `ownerOf` reads it: a warm turn's one read before it goes to the agent); undefined
   * when there is no such session.
   */
  sessionState(id: string): Promise<SessionStateRead | undefined>
  getSession(id: string): Promise<Session | undefined>
  findSessionByAgentId(agentSessionId: string): Promise<Session | undefined>
  /** The session a client named itself (unique; seed 004's `sessionId`). */
  findSessionByExternalId(externalId: string): Promise<Session | undefined>
  listSessions(filter: SessionFilter): Promise<Session[]>
  /**
   * How many sessions are in each state (a state with none is absent), of one tenant (null: those without one)
   * or, with `tenant` undefined, of all: counted by the store, not read.
   */
  countSessions(tenant?: string | null): Promise<SessionCounts>
  /**
   * Stores a new turn; with `claim`, only while that is its session's claim (SessionTakenOver otherwise). With
   * `session`, the turn's session gets that state in the same step, as `updateTurn` does (a turn stored as it
   * starts running), and the step says which state it stored; undefined without `session`.
   */
  createTurn(turn: Turn, claim?: SessionClaim, session?: SessionStateChange): Promise<TurnStep | undefined>
  /**
   * Merges `patch` into the turn; with `session`, the turn's session gets that state (and `updatedAt`) in the
   * same step (a turn starts running: session-state.ts), unless it is archived by then (read in that step: an
   * archive that landed since the caller read the state stays). The step says which state it stored.
   * With `claim`, nothing is stored when that is no longer the session's claim (SessionTakenOver).
   */
  updateTurn(
    id: string,
    patch: Partial<Omit<Turn, 'id'>>,
    session?: SessionStateChange,
    claim?: SessionClaim,
  ): Promise<TurnStep | undefined>
  /**
   * `createTurn`, and the events `eventsOf` gives for its step (the state it stored, undefined without `session`)
   * appended in the same transaction, each as appendEvents would (fenced by its own `fence`): a turn stored as it
   * starts running and its `session.status` in one commit, all or nothing. Returns the step and the events stored.
   */
  createTurnWithEvents(
    turn: Turn,
    claim: SessionClaim | undefined,
    session: SessionStateChange | StateChangeFromRead | undefined,
    eventsOf: (step: TurnStep | undefined) => readonly EventToAppend[],
  ): Promise<{ step: TurnStep | undefined; events: StoredEvent[] }>
  /**
   * `updateTurn`, and the events `eventsOf` gives for its step appended in the same transaction, as in
   * `createTurnWithEvents` (the agent's turn id with `turn.started`; a queued turn's start with its state's
   * `session.status`). Nothing is stored when the turn is unknown (the step is undefined then, and no event asked).
   */
  updateTurnWithEvents(
    id: string,
    patch: Partial<Omit<Turn, 'id'>>,
    session: SessionStateChange | StateChangeFromRead | undefined,
    claim: SessionClaim | undefined,
    eventsOf: (step: TurnStep) => readonly EventToAppend[],
  ): Promise<{ step: TurnStep | undefined; events: StoredEvent[] }>
  getTurn(id: string): Promise<Turn | undefined>
  /**
   * Records a turn's end and counts it on its session (turnCount + 1, updatedAt) in one step; with `status`,
   * the session's new state in the same step, unless it is archived by then (as in `updateTurn`). The step
   * says which state it stored. With `claim`, as in `updateTurn`.
   */
  completeTurn(
    id: string,
    patch: Partial<Omit<Turn, 'id' | 'sessionId'>>,
    at: string,
    status?: Session['status'],
    claim?: SessionClaim,
  ): Promise<TurnStep | undefined>
  /**
   * `completeTurn`, and the events `eventsOf` gives for its step (the turn's end, the state the step stored)
   * appended in the same transaction, each as appendEvents would (fenced by its own `fence`): the turn is never
   * stored as ended without them, nor they without it. Returns the step and the events stored, in order. `status`
   * may be a function of the session's state read in that transaction (`sessionState`'s read).
   */
  completeTurnWithEvents(
    id: string,
    patch: Partial<Omit<Turn, 'id' | 'sessionId'>>,
    at: string,
    status: Session['status'] | StatusFromRead | undefined,
    claim: SessionClaim | undefined,
    eventsOf: (step: TurnStep | undefined) => readonly EventToAppend[],
  ): Promise<{ step: TurnStep | undefined; events: StoredEvent[] }>
  /** A session's turns, oldest first. */
  listTurns(sessionId: string, status?: Turn['status']): Promise<Turn[]>
  createApproval(approval: Approval): Promise<void>
  updateApproval(id: string, patch: Partial<Omit<Approval, 'id'>>): Promise<Approval | undefined>
  getApproval(id: string): Promise<Approval | undefined>
  /**
   * Answers the approval only if it is still pending: the first answer wins; undefined for every later one. With
   * `claim` (an answer the session's holder gives itself: a takeover's cancel), only while that is the claim of
   * the approval's session, checked in the same step (SessionTakenOver otherwise, nothing stored).
   */
  resolveApproval(id: string, answer: ApprovalAnswer, claim?: SessionClaim): Promise<Approval | undefined>
  listApprovals(filter: ApprovalFilter): Promise<Approval[]>
  /** Adds or refreshes a node's record: it is a member (takes work) from now on. */
  registerNode(node: NodeRecord): Promise<void>
  /**
   * Marks a node alive at `at`; false when the node is not registered (someone declared it dead). A node marked
   * lost is still registered (true) but its heartbeat is no longer recorded: it learns it was taken for dead only
   * once its record is removed, after its work was taken over (NodeMembership.recoverLost).
   */
  heartbeat(id: string, at: string): Promise<boolean>
  /**
   * Marks nodes found dead as lost before their work is taken over: from then on they are no members (their
   * claims, admissions and new sessions throw NotAMember). A claim (or new session) of theirs in progress ends
   * first (PostgreSQL: it holds their record's row lock), so the takeover that follows sees every run and
   * session they claimed or created. Returns the nodes this call marked: not those marked already (by an earlier
   * check whose takeover failed, or by another node that found them first), so each loss is counted once.
   */
  markNodesLost(ids: readonly string[], at: string): Promise<string[]>
  listNodes(): Promise<NodeRecord[]>
  removeNode(id: string): Promise<void>
  /** The webhook outbox: deliveries are stored before they are attempted, so a restart still sends them. */
  enqueueWebhook(delivery: WebhookDelivery): Promise<void>
  updateWebhook(id: string, patch: Partial<Omit<WebhookDelivery, 'id'>>): Promise<WebhookDelivery | undefined>
  getWebhook(id: string): Promise<WebhookDelivery | undefined>
  /** Pending deliveries whose next attempt is due at `now`, oldest first. */
  dueWebhooks(now: string, limit: number): Promise<WebhookDelivery[]>
  /** When the next pending delivery is due, or null when none is pending. */
  nextWebhookAt(): Promise<string | null>
  ping(): Promise<boolean>
  /**
   * Whether the disk the store writes to is full (GET /health's `store.storageFull`): a write of the store was
   * refused for it (SQLITE_FULL or ENOSPC; PostgreSQL's 53100 `disk_full`) and a probe write still is. No write
   * while none was refused since the last one that took room (store/full-disk-mark.ts); SQLite, whose disk is
   * DATA_DIR's, checks it with a probe write each time: `probed`, the one /health just made, when it was of the
   * store's directory (one probe file per /health, not two), else one of its own.
   */
  storageFull(probed?: WriteProbe): Promise<boolean>
  /**
   * Calls `listener` each time a write of the store fits again after one was refused for a full disk (its mark
   * cleared: a write that took room, or a storageFull probe, store/full-disk-mark.ts), and (PostgreSQL) each time
   * its server answers a query again after it was unavailable: the ends it refused meanwhile are tried again at
   * once (core/end-retry.ts).
   */
  onSpaceBack(listener: () => void): void
  close(): Promise<void>
}
