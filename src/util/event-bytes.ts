import type { AgentEvent } from '../protocol/events.js'

/** What a field costs beside its value (its key, JSON's punctuation): a nominal few bytes. */
const fieldBytes = 16

/**
 * About the memory an event holds: the length of its strings (an `output`'s data, a command's output in an item, a
 * message's text) plus a few bytes a field. Walks the event's fields once, reading no string's contents: cheap next
 * to storing it. For bounds (EventPipe's bytes in flight), not for exact accounting.
 */
export function eventBytes(event: AgentEvent): number {
  if (event.type === 'output') return event.data.length + fieldBytes * 3
  let bytes = 0
  const stack: unknown[] = [event]
  while (stack.length > 0) {
    const value = stack.pop()
    bytes += fieldBytes
    if (typeof value === 'string') bytes += value.length
    else if (Array.isArray(value)) for (const v of value) stack.push(v)
    else if (value !== null && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) {
        bytes += k.length
        stack.push(v)
      }
  }
  return bytes
}
