import type { StoredEvent } from '../../src/protocol/events.js'

/** A turn of a fork's parent that was running at the fork point: what the fork holds of it. */
export interface CutTurn {
  events: StoredEvent[]
  /** The items that were running at the fork point (a command, a file change, a tool call): held as aborted. */
  aborted: ReadonlySet<string>
}

/** Items the agent keeps only once complete: one still streaming at the fork point is not in the fork. */
const keptWhenComplete = new Set(['agent_message', 'reasoning'])

/**
 * What a fork holds of the turn that was running when it was forked, from that turn's events up to the fork
 * point. codex's thread/fork of a running thread (0.171, read against the mock model:
 * test/browser/console.test.ts) holds the turn's input and what it had completed, then ends the turn there as
 * interrupted (the model is told so); a command still running is held as called with "aborted" for its output
 * (not what it had printed), and a message or reasoning still streaming is not held at all.
 */
export function cutAtForkPoint(events: StoredEvent[]): CutTurn {
  const completed = new Set<string>()
  const types = new Map<string, string>()
  for (const ev of events) {
    if (ev.type === 'item.completed') completed.add(ev.item.id)
    if (ev.type === 'item.started' || ev.type === 'item.updated') types.set(ev.item.id, ev.item.type)
  }
  const running = (id: string) => !completed.has(id)
  // a delta of an item never started is a message's (as the console folds it)
  const dropped = (id: string) => running(id) && keptWhenComplete.has(types.get(id) ?? 'agent_message')
  const aborted = new Set([...types.keys()].filter((id) => running(id) && !dropped(id)))
  const kept = events.filter((ev) => {
    if (ev.type === 'item.delta') return !running(ev.itemId)
    if (ev.type === 'item.started' || ev.type === 'item.updated') return !dropped(ev.item.id)
    return true
  })
  return { events: kept, aborted }
}

/** The turn of `turns` that had started by the fork point (in `events`) and not ended: none when it was idle. */
export function turnRunningAt<T extends { id: string }>(events: StoredEvent[], turns: T[]): T | undefined {
  const running = new Set<string>()
  for (const ev of events) {
    if (!('turnId' in ev) || !ev.turnId) continue
    if (ev.type === 'turn.started') running.add(ev.turnId)
    if (ev.type === 'turn.completed' || ev.type === 'turn.failed') running.delete(ev.turnId)
  }
  return turns.find((t) => running.has(t.id))
}
