import type { StoredEvent } from '../../src/protocol/events.js'

/**
 * The events between a turn's turn.started and its end (session events carry no turn id on items), and its
 * steers (a steer into a turn whose start was still being stored comes just before its turn.started). A steer its
 * agent refused (its turn had ended) is not the turn's: its refusal shows in the turn its input became instead. A
 * steer whose sending failed (withdrawn) is not the turn's either: its failure shows in the turn it was sent to.
 */
export function eventsOfTurn(events: StoredEvent[], turnId: string): StoredEvent[] {
  const out: StoredEvent[] = []
  const withdrawn = new Set(
    events.flatMap((ev) =>
      ev.type === 'turn.steer_refused' || ev.type === 'turn.steer_failed' ? [ev.steeredSeq] : [],
    ),
  )
  let inside = false
  for (const ev of events) {
    if (ev.type === 'turn.started') inside = ev.turnId === turnId
    if (ev.type === 'turn.steered') {
      if (ev.turnId === turnId && !withdrawn.has(ev.seq)) out.push(ev)
    } else if (ev.type === 'turn.steer_refused') {
      if (ev.queuedTurnId === turnId) out.push(ev)
    } else if (ev.type === 'turn.steer_failed') {
      if (ev.turnId === turnId) out.push(ev)
    } else if (inside && ev.type !== 'session.status') out.push(ev)
    if ((ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turnId) inside = false
  }
  return out
}
