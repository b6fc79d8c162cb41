import type { ApprovalAsk, ApprovalDecision } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'
import type { Approval } from '../protocol/sessions.js'
import type { NodeSignals } from '../store/node-signals.js'
import { type SessionClaim, SessionTakenOver, type Store } from '../store/store.js'
import type { EventLog } from './event-log.js'
import { newId } from './ids.js'

interface Waiting {
  resolve: (decision: ApprovalDecision) => void
  timer: NodeJS.Timeout
}

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
    const approval: Approval = {
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
    }
    await this.store.createApproval(approval)
    if (signal.aborted) {
      // the turn ended while the request was being stored (an abort listener added now would never be called):
      // recorded as cancelled, not announced, as a request refused at a takeover is
      await this.store
        .resolveApproval(approval.id, {
          decision: 'cancel',
          by: 'turn_ended',
          resolvedAt: new Date().toISOString(),
        })
        .catch(() => {})
      return 'cancel'
    }
    const decided = new Promise<ApprovalDecision>((resolve) => {
      const timer = setTimeout(
        () => void this.settle(approval.id, 'decline', 'timeout').catch(() => {}),
        this.timeoutMs,
      )
      timer.unref()
      this.waiting.set(approval.id, { resolve, timer })
    })
    const onAbort = () => void this.settle(approval.id, 'cancel', 'turn_ended').catch(() => {})
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
      await this.store
        .resolveApproval(approval.id, {
          decision: 'cancel',
          by: 'session_taken_over',
          resolvedAt: new Date().toISOString(),
        })
        .catch(() => {})
      throw err
    }
    await this.onChange(sessionId)
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

  /** The first answer wins, in the store (across processes too); later or concurrent ones get 409. */
  private async settle(id: string, decision: ApprovalDecision, by: string): Promise<Approval> {
    const resolved = await this.record(id, decision, by)
    if (this.waiting.has(id)) await this.deliver(id, decision)
    else if (!this.cluster) await this.onChange(resolved.sessionId)
    else {
      // The agent that asked runs on the node that owns the session.
      const owner = await this.store.ownerOf(resolved.sessionId)
      if (owner && owner !== this.cluster.node)
        await this.cluster.signals.send(owner, { kind: 'approval', approvalId: id, decision })
    }
    return resolved
  }

  /** Hands a recorded answer to the agent waiting here for it. */
  private async deliver(id: string, decision: ApprovalDecision): Promise<void> {
    const waiting = this.waiting.get(id)
    if (!waiting) return
    this.waiting.delete(id)
    clearTimeout(waiting.timer)
    waiting.resolve(decision)
    const approval = await this.store.getApproval(id)
    if (approval) await this.onChange(approval.sessionId)
  }

  /** With `claim`, the answer is the session holder's own (recover), fenced by its claim (Store.resolveApproval). */
  private async record(
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
    if (!resolved) {
      if (!(await this.store.getApproval(id))) throw new AppError('not_found', `no approval ${id}`)
      throw new AppError('conflict', `approval ${id} was already answered`)
    }
    await this.log.append(
      resolved.sessionId,
      { type: 'approval.resolved', approvalId: id, decision, by },
      claim,
    )
    this.changed()
    return resolved
  }

  get pendingCount(): number {
    return this.waiting.size
  }
}
