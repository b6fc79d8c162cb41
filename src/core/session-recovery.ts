import type { Session } from '../protocol/sessions.js'
import type { Store } from '../store/store.js'
import type { SessionState } from './session-state.js'

/**
 * Sessions lost nodes left mid-way: taken over by `node`, their unfinished turns failed, the sessions idle (their
 * threads live on); `node` reopens them when they are next used. Returns them.
 */
export async function recoverSessions(
  store: Store,
  state: SessionState,
  lost: readonly string[],
  node: string,
): Promise<Session[]> {
  const orphaned = await store.takeOverSessions(lost, node)
  for (const s of orphaned) {
    for (const status of ['queued', 'running'] as const)
      for (const t of await store.listTurns(s.id, status))
        await state.endTurn(s.id, t.id, {
          status: 'failed',
          error: 'the server stopped before this turn finished',
        })
    if (s.status === 'running' || s.status === 'waiting_for_approval') await state.set(s.id, 'idle')
  }
  return orphaned
}
