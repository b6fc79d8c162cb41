import type { StoredEvent } from '../../../src/protocol/events.js'
import { appendDelta } from '../../../src/protocol/item-delta.js'
import type { Item } from '../../../src/protocol/items.js'

export type Block =
  | { kind: 'item'; seq: number; item: Item; final: boolean }
  | { kind: 'event'; seq: number; event: StoredEvent }
  | { kind: 'output'; seq: number; stream: string; text: string }
  /** Consecutive `agent.raw` events (what the gateway did not map), one collapsed row for the run of them. */
  | { kind: 'raw'; seq: number; events: Extract<StoredEvent, { type: 'agent.raw' }>[] }

/**
 * Folds a stream of events into what a person reads: one block per item (its latest state, deltas appended
 * while it runs), one per other event; consecutive output of one stream joined, and consecutive `agent.raw`
 * events (a turn may have several in a row, burying what was said) kept as one group. An event whose seq was folded
 * already is skipped, so folding is the same however often an event was received.
 */
export function foldEvents(events: StoredEvent[]): Block[] {
  const blocks: Block[] = []
  const items = new Map<string, Extract<Block, { kind: 'item' }>>()
  // each seq once: an event received twice (a replay after a reconnect) would append its delta twice
  const folded = new Set<number>()
  for (const ev of events) {
    if (folded.has(ev.seq)) continue
    folded.add(ev.seq)
    switch (ev.type) {
      case 'item.started':
      case 'item.updated':
      case 'item.completed': {
        const known = items.get(ev.item.id)
        if (known) {
          known.item = ev.item
          known.final = ev.type === 'item.completed'
        } else {
          const block = {
            kind: 'item' as const,
            seq: ev.seq,
            item: ev.item,
            final: ev.type === 'item.completed',
          }
          items.set(ev.item.id, block)
          blocks.push(block)
        }
        break
      }
      case 'item.delta': {
        const known = items.get(ev.itemId)
        // a message's text, a reasoning's, a command's output as it streams (protocol/item-delta.ts)
        if (known) known.item = appendDelta(known.item, ev.delta)
        else {
          const block = {
            kind: 'item' as const,
            seq: ev.seq,
            item: { id: ev.itemId, type: 'agent_message' as const, text: ev.delta },
            final: false,
          }
          items.set(ev.itemId, block)
          blocks.push(block)
        }
        break
      }
      case 'output': {
        const last = blocks.at(-1)
        if (last?.kind === 'output' && last.stream === ev.stream) last.text += ev.data
        else blocks.push({ kind: 'output', seq: ev.seq, stream: ev.stream, text: ev.data })
        break
      }
      case 'agent.raw': {
        const last = blocks.at(-1)
        if (last?.kind === 'raw') last.events.push(ev)
        else blocks.push({ kind: 'raw', seq: ev.seq, events: [ev] })
        break
      }
      default:
        blocks.push({ kind: 'event', seq: ev.seq, event: ev })
    }
  }
  return blocks
}
