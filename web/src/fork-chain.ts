import type { StoredEvent } from '../../src/protocol/events.js'
import { cutAtForkPoint, turnRunningAt } from './fork-cut.js'
import { eventsOfTurn } from './turn-events.js'

/** A turn as a session lists it: what a fork's history reads of it. */
export interface ListedTurn {
  id: string
  /** Set once it went to its agent; null for one still queued, or one that ended while queued (never ran). */
  startedAt: string | null
}

/** A turn a fork holds from an ancestor: the turn as its session stored it, with its events. */
export interface InheritedTurn<T extends ListedTurn = ListedTurn> {
  turn: T
  sessionId: string
  events: StoredEvent[]
  /**
   * Set for a turn that was running at the fork point: the fork holds it up to there, ended as interrupted, and
   * these of its items as aborted (cutAtForkPoint).
   */
  cut?: { aborted: ReadonlySet<string> }
}

/** One fork of a chain: its parent as listed now, its fork point in the parent's turns, the parent's events then. */
export interface ForkLink<T extends ListedTurn = ListedTurn> {
  parent: { id: string; turns: T[] }
  forkedAtTurn: number
  /** The parent's events up to the fork point (`forkedAtSeq`). */
  events: StoredEvent[]
}

/**
 * The turns a fork holds of its parent: its first `forkedAtTurn` that ran, as the gateway counts them (a turn
 * listed with a `startedAt`: Session.turnCount; one that ended while queued never reached the agent, which holds
 * nothing of it), and the one that was running at the fork point, cut there.
 */
export function heldOf<T extends ListedTurn>(link: ForkLink<T>): InheritedTurn<T>[] {
  const ran = link.parent.turns.filter((turn) => turn.startedAt !== null)
  const held: InheritedTurn<T>[] = ran.slice(0, link.forkedAtTurn).map((turn) => ({
    turn,
    sessionId: link.parent.id,
    events: eventsOfTurn(link.events, turn.id),
  }))
  const running = turnRunningAt(link.events, ran.slice(link.forkedAtTurn))
  if (running) {
    const { events, aborted } = cutAtForkPoint(eventsOfTurn(link.events, running.id))
    held.push({ turn: running, sessionId: link.parent.id, events, cut: { aborted } })
  }
  return held
}

/**
 * The history a fork holds from a chain of forks (`links`: its own first, then its parent's, and so on back):
 * each parent's turns up to its fork point, oldest first (a fork of a fork holds its grandparent's too, a fork of
 * a fork that had run no turn of its own its grandparent's only). `cut`: whether the last of them was running at
 * its fork point (the fork holds it up to there: "during turn N"), which a fork of a fresh fork holds as that
 * one does.
 */
export function chainHistory<T extends ListedTurn>(
  links: ForkLink<T>[],
): { turns: InheritedTurn<T>[]; cut: boolean } {
  const turns = [...links].reverse().flatMap((link) => heldOf(link))
  return { turns, cut: turns.at(-1)?.cut !== undefined }
}
