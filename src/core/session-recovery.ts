import { SessionTakenOver, type Store, type TakenSession } from '../store/store.js'
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
  for (const status of ['queued', 'running'] as const)
    for (const t of await store.listTurns(s.id, status))
      await state.endTurn(
        s.id,
        t.id,
        { status: 'failed', error: 'the server stopped before this turn finished' },
        s.claim,
      )
  if (s.status === 'running' || s.status === 'waiting_for_approval') await state.set(s.id, 'idle', s.claim)
}
