import type { Session } from '../protocol/sessions.js'

/** How many forks back a session's history is looked for at most (a chain longer than that is held to have none). */
const maxForkDepth = 64

/**
 * Whether the agent holds a history for the session, that is a turn in its thread: one of its own, or (a fork)
 * what it was forked with: its parent's turns up to the fork point (`forkedAtTurn`) or, when it was forked before
 * any turn of its parent's own, the history its parent held then, a fork's likewise. A codex thread without one has
 * no rollout written yet: app-server can neither resume nor fork it nor list its turns. `get` reads a stored
 * session (undefined when there is none).
 */
export async function holdsHistory(
  session: Session,
  get: (id: string) => Promise<Session | undefined>,
): Promise<boolean> {
  if (session.turnCount > 0) return true
  let fork: Session | undefined = session
  for (let depth = 0; fork && depth < maxForkDepth; depth++) {
    if ((fork.forkedAtTurn ?? 0) > 0) return true
    if (fork.forkedFrom === null) return false
    fork = await get(fork.forkedFrom).catch(() => undefined)
  }
  return false
}
