import type { Item } from '../protocol/items.js'
import type { EventLog } from './event-log.js'

/** The items a turn completed, from the session's stored events (between its turn.started and its end). */
export async function itemsOfTurn(log: EventLog, sessionId: string, turnId: string): Promise<Item[]> {
  const items: Item[] = []
  let inside = false
  for await (const ev of log.replay(sessionId)) {
    if (ev.type === 'turn.started' && ev.turnId === turnId) inside = true
    else if (inside && ev.type === 'item.completed') items.push(ev.item)
    else if (inside && (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turnId)
      break
  }
  return items
}
