import type { StoredEvent } from '../../protocol/events.js'
import { jsonOnce } from '../../util/json-once.js'

/** NOTIFY payloads are limited to 8000 bytes: an event that does not fit travels as a pointer (read from the table). */
const maxInlineBytes = 7000
/**
 * What a NOTIFY on `agw_events` says: owner `o`'s events up to seq `s`, stored by node `n`. Up to session 16 a
 * notice announced one event (`e`, or a pointer: `o` and `s` alone); since, one commit's events of an owner go in
 * one notice (`f`..`s`, inline as `b` then `e`). A gateway of before reads `e` (or the row at `s`) and its
 * EventLog reads the gap before it from the table (a live event past the next seq), so a mixed cluster still
 * streams every event, in order.
 */
export interface Notice {
  /** The publishing node (it delivered to its own subscribers already). */
  n: string
  /** The owner (run or session id). */
  o: string
  /** The seq of the last event announced. */
  s: number
  /** The event at `s` itself, when the notice fits. */
  e?: StoredEvent
  /** The first seq announced, when the notice announces more than `s` (events `f`..`s` of one commit). */
  f?: number
  /** With `e`: the events before it (`f`..`s` - 1), in order. */
  b?: StoredEvent[]
}

/**
 * The notices announcing `events` (one commit's events of `owner`, in order): as few as carry them inline within
 * the payload limit, an event too large for one a pointer of its own (its subscribers read it from the table).
 * One event alone is a notice of the format before session 16.
 */
export function noticesOf(node: string, owner: string, events: readonly StoredEvent[]): string[] {
  const notices: string[] = []
  const overhead = Buffer.byteLength(
    JSON.stringify({
      n: node,
      o: owner,
      s: Number.MAX_SAFE_INTEGER,
      e: 0,
      f: Number.MAX_SAFE_INTEGER,
      b: [],
    }),
  )
  let chunk: { event: StoredEvent; json: string }[] = []
  let bytes = overhead
  const flush = () => {
    if (chunk.length > 0) notices.push(inlineNotice(node, owner, chunk))
    chunk = []
    bytes = overhead
  }
  for (const event of events) {
    // the text the store wrote (jsonOnce): encoded once for the row, the notices and the streams
    const json = jsonOnce(event)
    const size = Buffer.byteLength(json) + 1
    if (overhead + size > maxInlineBytes) {
      flush()
      notices.push(JSON.stringify({ n: node, o: owner, s: event.seq } satisfies Notice))
      continue
    }
    if (bytes + size > maxInlineBytes) flush()
    chunk.push({ event, json })
    bytes += size
  }
  flush()
  return notices
}

/** One notice carrying `chunk` inline (serialized once: `json` is each event's JSON). */
function inlineNotice(node: string, owner: string, chunk: { event: StoredEvent; json: string }[]): string {
  const last = chunk.at(-1)!
  const head = JSON.stringify({ n: node, o: owner, s: last.event.seq }).slice(0, -1)
  if (chunk.length === 1) return `${head},"e":${last.json}}`
  const before = chunk.slice(0, -1).map((c) => c.json)
  return `${head},"e":${last.json},"f":${chunk[0]!.event.seq},"b":[${before.join(',')}]}`
}
