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

/**
 * Where a fork that never ran a turn finds its history again when its agent's copy of it is gone (claude's
 * conversation file: SessionRequest.forkOf): the nearest session up its fork chain that ran a turn of its own, or
 * the chain's first (a fork that never ran one holds a cut of its parent's history and nothing else, and may lack
 * its copy too), with the turns of that one's history it holds: every fork point of the chain added up, the
 * turns inherited included (a parent's `forkedAtTurn` counts its own turns, not those its history starts with).
 * `turns` is left out when a fork point up the chain is not kept or a session of it is not stored. Undefined for a
 * session that is no fork or ran a turn, and when its parent is not stored.
 */
export async function forkSource(
  session: Session,
  get: (id: string) => Promise<Session | undefined>,
): Promise<{ source: Session; turns?: number } | undefined> {
  if (session.forkedFrom === null || session.turnCount > 0) return undefined
  let source: Session | undefined
  let turns: number | undefined = 0
  let fork: Session = session
  for (let depth = 0; depth < maxForkDepth; depth++) {
    turns = turns === undefined || fork.forkedAtTurn === undefined ? undefined : turns + fork.forkedAtTurn
    const parent = await get(fork.forkedFrom as string).catch(() => undefined)
    if (!parent) return source ? { source } : undefined
    if (!source && (parent.turnCount > 0 || parent.forkedFrom === null)) source = parent
    if (parent.forkedFrom === null)
      return turns === undefined ? { source: source! } : { source: source!, turns }
    fork = parent
  }
  return source ? { source } : undefined
}
