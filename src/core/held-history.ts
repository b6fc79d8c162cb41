import type { Session, Turn } from '../protocol/sessions.js'

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

/** Where a fork's history is copied from again (forkSource). */
export interface ForkSource {
  /** The session whose agent's history holds the fork's. */
  source: Session
  /**
   * When the first of `source`'s own turns that the fork does not hold started (its `startedAt`): the fork holds
   * what the agent wrote of that history before then. Absent: all of it (the fork point is not kept, or no turn of
   * `source` started after it).
   */
  before?: string
}

/**
 * Where a fork that never ran a turn finds its history again when its agent's copy of it is gone (claude's
 * conversation file: SessionRequest.forkOf), as a time in its source's history, not a count of prompts: a turn
 * the gateway counts (it went to the agent) may have left nothing in the agent's history (cancelled before Claude
 * wrote its prompt), and the history of a fork an older gateway made may hold more turns of its parent than its
 * fork point (`--resume --fork-session` on its first turn copied the parent as it was then).
 *
 * Up the chain from the fork, the first link whose fork point holds a turn of the parent's own (`forkedAtTurn` >
 * 0): that parent's history before its next turn that ran (`startedAt` of its `forkedAtTurn + 1`-th turn listed
 * with one, as Session.turnCount counts them), whatever it inherited. A link at 0 holds what its parent held before
 * a turn of its own, that is the link above's; the chain's first session at 0: none of it. A link whose fork point
 * is not kept: the nearest session from there up that ran a turn, or the chain's first, uncut. When a session up
 * the chain is not stored: the history a session passed on the way (one whose fork point was 0 and that ran turns
 * since) held before its own first turn, else none. Undefined for a session that is no fork or ran a turn.
 * `get` reads a stored session, `turnsOf` a session's turns, oldest first.
 */
export async function forkSource(
  session: Session,
  get: (id: string) => Promise<Session | undefined>,
  turnsOf: (id: string) => Promise<readonly Pick<Turn, 'startedAt'>[]>,
): Promise<ForkSource | undefined> {
  if (session.forkedFrom === null || session.turnCount > 0) return undefined
  /** Where the chain's history is when the rest of the chain cannot be read: a session's before its first turn. */
  let fallback: ForkSource | undefined
  let uncut = false
  let fork: Session = session
  for (let depth = 0; depth < maxForkDepth; depth++) {
    const parent = await get(fork.forkedFrom as string).catch(() => undefined)
    if (!parent) return fallback
    const at = fork.forkedAtTurn
    if (at === undefined) uncut = true
    if (uncut && (parent.turnCount > 0 || parent.forkedFrom === null)) return { source: parent }
    if (!uncut && ((at ?? 0) > 0 || parent.forkedFrom === null))
      return await cutBefore(parent, at ?? 0, turnsOf).catch(() => fallback)
    if (!fallback && parent.turnCount > 0)
      fallback = await cutBefore(parent, 0, turnsOf).catch(() => undefined)
    fork = parent
  }
  return fallback
}

/** `source`'s history before its turn `held + 1` that ran (ForkSource.before). */
async function cutBefore(
  source: Session,
  held: number,
  turnsOf: (id: string) => Promise<readonly Pick<Turn, 'startedAt'>[]>,
): Promise<ForkSource> {
  const ran = (await turnsOf(source.id)).filter((turn) => turn.startedAt !== null)
  const next = ran[held]?.startedAt
  return next ? { source, before: next } : { source }
}
