import type { Session, Turn } from '../protocol/sessions.js'
import { type SessionClaim, SessionTakenOver, type Store, type TakenSession } from '../store/store.js'
import type { SessionState } from './session-state.js'

/**
 * Sessions lost nodes left mid-way: taken over by `node`, their pending approvals settled first (`settleApprovals`:
 * a client that sees a turn fail finds its approvals answered already), their unfinished turns failed, the sessions
 * idle (their threads live on); `node` reopens them when they are next used. Returns them, each with the claim
 * `node` got.
 * Every write here carries that claim: should this node stall mid-way and be taken for dead in turn, the node
 * that takes a session from it recovers it, and this one's late writes are refused (SessionTakenOver) instead of
 * failing a turn that the session's next holder runs by then. It then leaves that session alone.
 */
export async function recoverSessions(
  store: Store,
  state: SessionState,
  lost: readonly string[],
  node: string,
  settleApprovals: (s: TakenSession) => Promise<void> = async () => {},
): Promise<TakenSession[]> {
  const orphaned = await store.takeOverSessions(lost, node)
  for (const s of orphaned)
    await recoverSession(store, state, s, settleApprovals).catch((err: unknown) => {
      if (!(err instanceof SessionTakenOver)) throw err
    })
  return orphaned
}

async function recoverSession(
  store: Store,
  state: SessionState,
  s: TakenSession,
  settleApprovals: (s: TakenSession) => Promise<void>,
): Promise<void> {
  await settleApprovals(s)
  await failTurns(state, s.id, await openTurns(store, s.id), s.claim)
  if (s.status === 'running' || s.status === 'waiting_for_approval') await state.set(s.id, 'idle', s.claim)
}

const openTurns = async (store: Store, id: string): Promise<Turn[]> => [
  ...(await store.listTurns(id, 'queued')),
  ...(await store.listTurns(id, 'running')),
]

/**
 * Fails the lost node's open turns. A running one had gone to its agent, so its end counts in the session's
 * `turnCount` (SessionState.endTurn `ran`); a queued one never started and does not.
 */
async function failTurns(state: SessionState, id: string, turns: Turn[], claim: SessionClaim): Promise<void> {
  for (const t of turns)
    await state.endTurn(
      id,
      t.id,
      { status: 'failed', error: 'the server stopped before this turn finished' },
      claim,
      t.status === 'running',
    )
}

/** What recoverClaimed needs of the node that claimed the session. */
export interface ClaimedRecovery {
  /** Settles the session's pending approvals (before its turns fail: ApprovalBroker.recover). */
  settleApprovals(s: TakenSession): Promise<void>
  /** Whether this process holds the turn (its TurnQueue's queued and running turns). */
  heldHere(turnId: string): boolean
  /** Told of the turns failed, once they are (a log line and a metric: FencingNotices.leftoversFailed). */
  failed(sessionId: string, turns: readonly Turn[]): void
}

/**
 * A session this node just claimed (it reopened the thread: LiveSessions.reopen): a turn still open in the store
 * that this process does not hold (`heldHere`: its TurnQueue's queued and running turns, e.g. those a forced end
 * moves to the session reopened for them) is no one's any more (the claim refuses the writes of whoever ran it),
 * so it is failed here, its approvals settled first, its state recomputed (idle), and `failed` is told. Without
 * this, a takeover's recovery that the claim overtook (its writes refused: SessionTakenOver, and left alone) left
 * the turn running for good: a client following the session never saw its turn.failed (a forwarded turn reopened
 * the session on a survivor while the node that took it over from a dead one was still failing its turns). Every
 * path that reopens a session passes here: a turn, a fork, an archive, a thread read or resume. No turn open: two
 * reads.
 */
export async function recoverClaimed(
  store: Store,
  state: SessionState,
  session: Session,
  claim: SessionClaim,
  here: ClaimedRecovery,
): Promise<void> {
  const open = (await openTurns(store, session.id)).filter((t) => !here.heldHere(t.id))
  if (open.length === 0) return
  await here.settleApprovals({ ...session, claim })
  await failTurns(state, session.id, open, claim)
  here.failed(session.id, open)
  await state.refresh(session.id, claim)
}
