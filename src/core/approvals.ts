import type { ApprovalAsk, ApprovalDecision } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'
import type { Approval } from '../protocol/sessions.js'
import type { NodeSignals } from '../store/node-signals.js'
import { type SessionClaim, SessionTakenOver, type Store } from '../store/store.js'
import { retried } from '../util/retried.js'
import type { EventLog } from './event-log.js'
import { newId } from './ids.js'
import type { ApprovalNotices } from './ops/approval-notices.js'

interface Waiting {
  sessionId: string
  resolve: (decision: ApprovalDecision) => void
  timer: NodeJS.Timeout
}

/**
 * How long the broker waits before each new attempt to record an answer of its own (timeout, turn ended) that
 * the store failed; after the last one it gives up (the agent gets the answer, the approval stays pending and
 * the sweep, approval-sweep.ts, cancels it once nobody can answer it).
 */
export const ownAnswerRetryMs: readonly number[] = [200, 1000, 3000, 10_000]

export interface ApprovalBrokerOptions {
  notices?: ApprovalNotices
  /** ownAnswerRetryMs unless a test says otherwise. */
  retryMs?: readonly number[]
}

/** An error that is an answer about the approval (answered first elsewhere, unknown), not a failure to retry. */
const isAnswer = (err: unknown) =>
  err instanceof AppError && (err.code === 'conflict' || err.code === 'not_found')

/**
 * Turns an agent's permission requests into stored approvals and `approval.requested` events, and clients'
 * answers (POST /v1/approvals/:id) into decisions sent back to the agent. The first answer wins (409 after);
 * nobody answering within APPROVAL_TIMEOUT_SECONDS declines; the turn ending cancels.
 */
export class ApprovalBroker {
  private readonly waiting = new Map<string, Waiting>()
  private readonly watchers = new Set<() => void>()

  constructor(
    private readonly store: Store,
    private readonly log: EventLog,
    private readonly timeoutMs: number,
    private readonly onChange: (sessionId: string) => Promise<void>,
    /** This node, and the signals that carry an answer to the node whose agent asked (in a cluster). */
    private readonly cluster?: { node: string; signals: NodeSignals },
    private readonly options: ApprovalBrokerOptions = {},
  ) {
    cluster?.signals.onMessage((message) => {
      if (message.kind === 'approval') void this.deliver(message.approvalId, message.decision).catch(() => {})
    })
  }

  /**
   * Records the request and waits for its answer. With `claim` (the session's claim the asking node holds), its
   * `approval.requested` is stored only while that is the session's claim: once another node took the session
   * over, the request is recorded as cancelled and fails (SessionTakenOver), and nobody is asked.
   */
  async request(
    sessionId: string,
    turnId: string | null,
    ask: ApprovalAsk,
    signal: AbortSignal,
    claim?: SessionClaim,
  ): Promise<ApprovalDecision> {
    // asked for a turn that already ended: nobody can answer it for that turn, so it is neither stored nor announced
    if (signal.aborted) return ask.options.includes('cancel') ? 'cancel' : 'decline'
    const now = Date.now()
    // the record is redacted as the event is (a command the model wrote a secret into): the agent gets only the
    // decision, so nothing needs the raw text
    const approval: Approval = this.log.redactor.value({
      id: newId('apr'),
      sessionId,
      turnId,
      kind: ask.kind,
      command: ask.command ?? null,
      cwd: ask.cwd ?? null,
      changes: ask.changes ?? null,
      reason: ask.reason ?? null,
      options: ask.options,
      state: 'pending',
      decision: null,
      by: null,
      createdAt: new Date(now).toISOString(),
      resolvedAt: null,
      expiresAt: new Date(now + this.timeoutMs).toISOString(),
    })
    await this.store.createApproval(approval)
    if (signal.aborted) {
      // the turn ended while the request was being stored (an abort listener added now would never be called):
      // recorded as cancelled, not announced, as a request refused at a takeover is
      await this.recordUnannounced(approval.id, 'turn_ended')
      return 'cancel'
    }
    const decided = new Promise<ApprovalDecision>((resolve) => {
      const timer = setTimeout(() => void this.expire(approval.id, 'decline', 'timeout'), this.timeoutMs)
      timer.unref()
      this.waiting.set(approval.id, { sessionId, resolve, timer })
    })
    // the turn ended: cancelled (an answer given meanwhile wins, and is what the agent gets)
    const onAbort = () => void this.expire(approval.id, 'cancel', 'turn_ended')
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      await this.log.append(
        sessionId,
        {
          type: 'approval.requested',
          approvalId: approval.id,
          kind: ask.kind,
          options: ask.options,
          ...(ask.command !== undefined ? { command: ask.command } : {}),
          ...(ask.cwd !== undefined ? { cwd: ask.cwd } : {}),
          ...(ask.changes !== undefined ? { changes: ask.changes } : {}),
          ...(ask.reason !== undefined ? { reason: ask.reason } : {}),
        },
        claim,
      )
    } catch (err) {
      // not announced (the session was taken over): nobody can answer it, and it must not stay pending
      signal.removeEventListener('abort', onAbort)
      clearTimeout(this.waiting.get(approval.id)?.timer)
      this.waiting.delete(approval.id)
      await this.recordUnannounced(approval.id, 'session_taken_over')
      throw err
    }
    // Announced: from now on a client may answer it, so the agent waits for that answer (or the timeout, or its
    // turn's end) even when the session's state could not be recomputed now (the sweep corrects a state left so).
    await this.refresh(sessionId)
    this.changed()
    try {
      return await decided
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** A client's answer: 404 unknown, 409 already answered, 400 a decision the request did not offer. */
  async answer(id: string, decision: ApprovalDecision, by = 'client'): Promise<Approval> {
    const approval = await this.store.getApproval(id)
    if (!approval) throw new AppError('not_found', `no approval ${id}`)
    if (approval.state === 'resolved')
      throw new AppError(
        'conflict',
        `approval ${id} was already answered (${approval.decision} by ${approval.by})`,
      )
    if (!approval.options.includes(decision))
      throw new AppError(
        'invalid_request',
        `decision "${decision}" is not offered; choose one of: ${approval.options.join(', ')}`,
      )
    return this.settle(id, decision, by)
  }

  /**
   * Answers the session's pending approvals with `cancel` now (an archive: an answer stored after `archived`
   * would reach no client); one answered meanwhile is left as it is.
   */
  async cancelPending(sessionId: string, by: string): Promise<void> {
    for (const approval of await this.list('pending', sessionId))
      await this.settle(approval.id, 'cancel', by).catch((err: unknown) => {
        if (!(err instanceof AppError && err.code === 'conflict')) throw err
      })
  }

  /**
   * Calls `listener` whenever an approval of this node is requested or resolved (the live inbox); returns the
   * function that stops it. Approvals of other nodes are not seen here (the inbox also refreshes on a timer).
   */
  watch(listener: () => void): () => void {
    this.watchers.add(listener)
    return () => this.watchers.delete(listener)
  }

  private changed(): void {
    for (const w of this.watchers) w()
  }

  get(id: string): Promise<Approval | undefined> {
    return this.store.getApproval(id)
  }

  list(state?: Approval['state'], sessionId?: string): Promise<Approval[]> {
    return this.store.listApprovals({
      ...(state ? { state } : {}),
      ...(sessionId ? { sessionId } : {}),
      limit: 500,
    })
  }

  /**
   * Approvals left pending in sessions whose node is gone can no longer reach their agent: recorded as cancelled,
   * with the claim this node took each session over with (its own write, not a client's answer: should this node
   * be taken for dead in turn, its late cancel must not reach an approval the session's next holder asked). One a
   * client answered meanwhile keeps its answer.
   */
  async recover(sessions: readonly { id: string; claim: SessionClaim }[]): Promise<void> {
    for (const s of sessions)
      for (const a of await this.list('pending', s.id)) {
        const cancelled = await this.record(a.id, 'cancel', 'server_restart', s.claim).catch(
          (err: unknown) => {
            if (err instanceof AppError && err.code === 'conflict') return true // answered first
            if (err instanceof SessionTakenOver) return false // another node's session by now
            throw err
          },
        )
        if (!cancelled) break
      }
  }

  /**
   * Cancels an approval nobody can answer any more (approval-sweep.ts: its turn is gone, no agent waits for it):
   * recorded and announced as the gateway's own answer; false when it was answered meanwhile. The caller
   * recomputes the session's state (through the manager that holds the session).
   */
  async cancelUnattended(id: string, by: string): Promise<boolean> {
    try {
      await this.record(id, 'cancel', by)
      return true
    } catch (err) {
      if (isAnswer(err)) return false
      throw err
    }
  }

  /**
   * Hands the agents waiting here the answers the store holds for them: given on another node, whose signal never
   * came (signals are delivered at most once). `pending`: the approvals the store listed as pending just before
   * (approval-sweep.ts); one not among them is read, and handed over when it was answered before `answeredBefore`
   * (an answer of this node on its way to its agent is left to it). Returns how many it handed over.
   */
  async collectAnswers(pending: ReadonlySet<string>, answeredBefore: number): Promise<number> {
    let handed = 0
    for (const id of [...this.waiting.keys()]) {
      if (pending.has(id)) continue
      const approval = await this.store.getApproval(id)
      if (approval?.state !== 'resolved' || !approval.decision || !this.waiting.has(id)) continue
      if (Date.parse(approval.resolvedAt ?? '') >= answeredBefore) continue
      this.options.notices?.answerFoundInStore(id, approval.sessionId)
      await this.deliver(id, approval.decision)
      handed++
    }
    return handed
  }

  /** Whether an agent of this broker waits for the approval's answer now. */
  isWaiting(id: string): boolean {
    return this.waiting.has(id)
  }

  /** The first answer wins, in the store (across processes too); later or concurrent ones get 409. */
  private async settle(id: string, decision: ApprovalDecision, by: string): Promise<Approval> {
    const resolved = await this.resolve(id, decision, by)
    // stored: whoever waits for it gets it, even when its announcement failed
    try {
      await this.announce(resolved)
    } finally {
      await this.handOver(resolved)
    }
    return resolved
  }

  /**
   * An answer of the gateway's own (nobody answered in time, the turn ended), tried again while the store fails,
   * then handed to the agent waiting here. When another answer won first (a client's, given on another node whose
   * signal never came here: signals are delivered at most once, the store says) the agent gets that one; when the
   * store kept failing, this one: the approval stays pending, nobody waits for it any more, and the sweep
   * (approval-sweep.ts) cancels it. Never throws (it runs from a timer or an abort listener).
   */
  private async expire(id: string, decision: ApprovalDecision, by: string): Promise<void> {
    let given = decision
    try {
      const resolved = await this.retried(id, by, () => this.resolve(id, decision, by))
      if (resolved) await this.retried(id, by, () => this.announce(resolved))
    } catch (err) {
      if (err instanceof AppError && err.code === 'conflict')
        given = (await this.store.getApproval(id).catch(() => undefined))?.decision ?? decision
    }
    await this.deliver(id, given)
  }

  /** Records a cancel nobody was told of (the request was not announced); tried again while the store fails. */
  private async recordUnannounced(id: string, by: string): Promise<void> {
    const answer = { decision: 'cancel' as const, by, resolvedAt: new Date().toISOString() }
    await this.retried(id, by, () => this.store.resolveApproval(id, answer)).catch(() => {})
  }

  /** `attempt`, tried again while the store fails (each failure counted and logged): retried.ts. */
  private retried<T>(id: string, by: string, attempt: () => Promise<T>): Promise<T | undefined> {
    return retried(attempt, this.options.retryMs ?? ownAnswerRetryMs, {
      final: isAnswer,
      failed: (err, retryInMs) => this.options.notices?.resolveFailed(id, by, err, retryInMs),
    })
  }

  /**
   * Hands a recorded answer to the agent that asked: waiting here, or on the node that owns the session (a
   * signal, delivered at most once: that node's timeout finds the answer in the store when it is lost). Never
   * throws: the answer is stored.
   */
  private async handOver(resolved: Approval): Promise<void> {
    const { id, sessionId } = resolved
    const decision = resolved.decision ?? 'cancel'
    if (this.waiting.has(id)) return this.deliver(id, decision)
    if (!this.cluster) return this.refresh(sessionId)
    const owner = await this.store.ownerOf(sessionId).catch(() => undefined)
    if (owner && owner !== this.cluster.node)
      await this.cluster.signals.send(owner, { kind: 'approval', approvalId: id, decision }).catch(() => {})
  }

  /** Hands a recorded answer to the agent waiting here for it, and recomputes its session's state. */
  private async deliver(id: string, decision: ApprovalDecision): Promise<void> {
    const waiting = this.waiting.get(id)
    if (!waiting) return
    this.waiting.delete(id)
    clearTimeout(waiting.timer)
    waiting.resolve(decision)
    await this.refresh(waiting.sessionId)
  }

  /**
   * Recomputes the session's state after an approval was asked or answered. A failure is not the request's nor
   * the answer's (both are stored): the state is recomputed again at the turn's next step, or by the sweep.
   */
  private async refresh(sessionId: string): Promise<void> {
    await this.onChange(sessionId).catch(() => {})
  }

  /** With `claim`, the answer is the session holder's own (recover), fenced by its claim (Store.resolveApproval). */
  private async record(
    id: string,
    decision: ApprovalDecision,
    by: string,
    claim?: SessionClaim,
  ): Promise<Approval> {
    const resolved = await this.resolve(id, decision, by, claim)
    await this.announce(resolved, claim)
    return resolved
  }

  /** The answer stored if the approval is still pending; 409 when it was answered first, 404 when unknown. */
  private async resolve(
    id: string,
    decision: ApprovalDecision,
    by: string,
    claim?: SessionClaim,
  ): Promise<Approval> {
    const resolved = await this.store.resolveApproval(
      id,
      { decision, by, resolvedAt: new Date().toISOString() },
      claim,
    )
    if (resolved) return resolved
    if (!(await this.store.getApproval(id))) throw new AppError('not_found', `no approval ${id}`)
    throw new AppError('conflict', `approval ${id} was already answered`)
  }

  /** `approval.resolved` on the session's events (fenced by `claim`, if any), and the live inbox told. */
  private async announce(resolved: Approval, claim?: SessionClaim): Promise<void> {
    await this.log.append(
      resolved.sessionId,
      {
        type: 'approval.resolved',
        approvalId: resolved.id,
        decision: resolved.decision ?? 'cancel',
        by: resolved.by ?? '',
      },
      claim,
    )
    this.changed()
  }

  get pendingCount(): number {
    return this.waiting.size
  }
}
