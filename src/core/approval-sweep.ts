import type { Approval } from '../protocol/sessions.js'
import type { Store } from '../store/store.js'
import type { ApprovalNotices } from './ops/approval-notices.js'

/** `by` of an approval the sweep cancelled: nobody could answer it any more. */
export const sweptBy = 'turn_gone'

export interface ApprovalSweepContext {
  store: Store
  /**
   * This node: only approvals and states of sessions it owns are its to sweep (a live node sweeps its own; a dead
   * node's are recovered with its sessions).
   */
  node: string
  /** Whether an agent of this process waits for the approval's answer (a broker of any tenant scope). */
  waitingHere(approvalId: string): boolean
  /**
   * Hands the agents of this process waiting for an approval that is no longer `pending` (answered on another node
   * whose signal was lost) their answer from the store; returns how many (ApprovalBroker.collectAnswers).
   */
  collectAnswers(pending: ReadonlySet<string>, answeredBefore: number): Promise<number>
  /** Cancels it, announced, as the gateway's own answer; false when it was answered meanwhile. */
  cancel(approvalId: string, by: string): Promise<boolean>
  /** Recomputes the session's state, through the manager of this process that holds it (any, when none does). */
  refresh(sessionId: string): Promise<void>
  notices?: ApprovalNotices
  /**
   * How long an approval (or a state) is left alone after it was written: its request may still be registering
   * its waiter, a state's recompute may be on its way.
   */
  graceMs: number
}

/**
 * The backstop for approvals nobody can answer any more: pending, no agent of this process waits for it, its
 * session owned by this node, and its turn ended (or gone, or its session archived), or its answer overdue
 * (`expiresAt` passed: the timeout of whoever asked should have declined it). Before it, such an approval stayed
 * pending for good, and its session `waiting_for_approval` with no turn running: a store write that failed as the
 * turn ended or the timeout fired, a waiter lost. Each is cancelled (`by: turn_gone`) and its session's state
 * recomputed; so is the state of a session of this node left `waiting_for_approval` with nothing pending (a state
 * refresh that failed after an answer). First, the agents of this process still waiting for an approval the store
 * holds answered get that answer (its signal from the node it was given on was lost). Returns what it did.
 */
export async function sweepApprovals(
  ctx: ApprovalSweepContext,
  now = Date.now(),
): Promise<{ collected: number; cancelled: number; recomputed: number }> {
  const young = (at: string) => Date.parse(at) > now - ctx.graceMs
  const touched = new Set<string>()
  let cancelled = 0
  const pending = await ctx.store.listApprovals({ state: 'pending', limit: 500 })
  const collected = await ctx.collectAnswers(new Set(pending.map((a) => a.id)), now - ctx.graceMs)
  for (const a of pending) {
    if (ctx.waitingHere(a.id) || young(a.createdAt)) continue
    const why = await whyUnanswerable(ctx, a, now)
    if (!why || !(await ctx.cancel(a.id, sweptBy))) continue
    cancelled++
    ctx.notices?.sweptApproval(a.id, a.sessionId, a.turnId, why)
    touched.add(a.sessionId)
  }
  for (const id of touched) await ctx.refresh(id)
  let recomputed = 0
  for (const s of await ctx.store.listSessions({ status: 'waiting_for_approval', limit: 500 })) {
    if (touched.has(s.id) || young(s.updatedAt)) continue
    const state = await ctx.store.sessionState(s.id)
    if (state?.status !== 'waiting_for_approval' || state.pendingApproval || state.owner !== ctx.node)
      continue
    await ctx.refresh(s.id)
    recomputed++
    ctx.notices?.correctedState(s.id)
  }
  return { collected, cancelled, recomputed }
}

/** Why nobody can answer the approval any more (undefined: someone still may). */
async function whyUnanswerable(
  ctx: ApprovalSweepContext,
  a: Approval,
  now: number,
): Promise<string | undefined> {
  if ((await ctx.store.ownerOf(a.sessionId)) !== ctx.node) return undefined
  const session = await ctx.store.getSession(a.sessionId)
  if (session?.status === 'archived') return 'its session is archived'
  if (a.turnId) {
    const turn = await ctx.store.getTurn(a.turnId)
    if (!turn) return 'its turn is not stored'
    if (turn.status !== 'queued' && turn.status !== 'running') return `its turn ${turn.status}`
  }
  if (Date.parse(a.expiresAt) + ctx.graceMs < now)
    return 'its answer is overdue and no agent of this node waits for it'
  return undefined
}

/** Sweeps every `intervalMs` (one pass at a time) until `stop`, which waits for a pass in progress. */
export class ApprovalSweep {
  private timer: NodeJS.Timeout | undefined
  private pass: Promise<unknown> | undefined

  constructor(private readonly ctx: ApprovalSweepContext) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.pass ??= sweepApprovals(this.ctx)
        .catch((err: unknown) => this.ctx.notices?.sweepFailed(err))
        .finally(() => {
          this.pass = undefined
        })
    }, intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.pass
  }
}

/** Half the approval timeout, between 5 s and 60 s: an overdue approval is found soon after its timeout. */
export const sweepIntervalMs = (approvalTimeoutMs: number) =>
  Math.min(60_000, Math.max(5_000, approvalTimeoutMs / 2))
