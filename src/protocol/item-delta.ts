import type { Item } from './items.js'

/**
 * What an `item.delta` appends to, one rule for whoever sends deltas and whoever folds them: an agent
 * message's or a reasoning's `text`, a command's `aggregatedOutput`. The other item types have no streamed
 * text: their changes travel whole, as `item.updated`.
 */
export function streamedText(item: Item): string | undefined {
  switch (item.type) {
    case 'agent_message':
    case 'reasoning':
      return item.text
    case 'command_execution':
      return item.aggregatedOutput
    default:
      return undefined
  }
}

/** The item with `delta` appended to its streamed text (the item itself when it has none). */
export function appendDelta(item: Item, delta: string): Item {
  switch (item.type) {
    case 'agent_message':
    case 'reasoning':
      return { ...item, text: item.text + delta }
    case 'command_execution':
      return { ...item, aggregatedOutput: item.aggregatedOutput + delta }
    default:
      return item
  }
}

/**
 * How an in-progress item changed since its last state sent: not at all (send nothing); only its streamed text
 * grew (send the new part as `item.delta`); anything else (send it whole as `item.updated`). A client that
 * applies the event to `before` (appendDelta for a delta) holds `after`.
 */
export type ItemChange = { kind: 'none' } | { kind: 'delta'; delta: string } | { kind: 'updated' }

export function itemChange(before: Item, after: Item): ItemChange {
  const same = (a: Item, b: Item) => JSON.stringify(a) === JSON.stringify(b)
  if (same(before, after)) return { kind: 'none' }
  const was = streamedText(before)
  const now = streamedText(after)
  if (was === undefined || now === undefined || before.type !== after.type || !now.startsWith(was))
    return { kind: 'updated' }
  const delta = now.slice(was.length)
  return same(appendDelta(before, delta), after) ? { kind: 'delta', delta } : { kind: 'updated' }
}
