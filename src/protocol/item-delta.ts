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

/** The item with its streamed text replaced (the item itself when it has none). */
function withStreamedText(item: Item, text: string): Item {
  switch (item.type) {
    case 'agent_message':
    case 'reasoning':
      return { ...item, text }
    case 'command_execution':
      return { ...item, aggregatedOutput: text }
    default:
      return item
  }
}

/** The item with `delta` appended to its streamed text (the item itself when it has none). */
export function appendDelta(item: Item, delta: string): Item {
  const text = streamedText(item)
  return text === undefined ? item : withStreamedText(item, text + delta)
}

/**
 * How an in-progress item changed since its last state sent: not at all (send nothing); only its streamed text
 * grew (send the new part as `item.delta`); anything else (send it whole as `item.updated`). A client that
 * applies the event to `before` (appendDelta for a delta) holds `after`.
 */
export type ItemChange = { kind: 'none' } | { kind: 'delta'; delta: string } | { kind: 'updated' }

const same = (a: Item, b: Item) => JSON.stringify(a) === JSON.stringify(b)

export function itemChange(before: Item, after: Item): ItemChange {
  const was = streamedText(before)
  const now = streamedText(after)
  if (was === undefined || now === undefined)
    return same(before, after) ? { kind: 'none' } : { kind: 'updated' }
  // the rest compared without the text: a command's output may be megabytes, updated once per chunk
  if (!same(withStreamedText(before, ''), withStreamedText(after, ''))) return { kind: 'updated' }
  if (now === was) return { kind: 'none' }
  return now.startsWith(was) ? { kind: 'delta', delta: now.slice(was.length) } : { kind: 'updated' }
}

/**
 * itemChange when the caller knows `after`'s streamed text is `before`'s with `appended` added (an ACP terminal
 * chunk): the texts are not compared, so a long output costs one comparison of the rest per chunk, not one of
 * everything streamed so far.
 */
export function itemChangeAppended(before: Item, after: Item, appended: string): ItemChange {
  if (streamedText(before) === undefined || streamedText(after) === undefined)
    return itemChange(before, after)
  if (!same(withStreamedText(before, ''), withStreamedText(after, ''))) return { kind: 'updated' }
  return appended ? { kind: 'delta', delta: appended } : { kind: 'none' }
}
