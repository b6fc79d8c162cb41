import type { AgentEvent } from '../protocol/events.js'

/**
 * The most text one coalesced `output` event holds: what one full pipe read gives (64 KB), the size a loaded
 * gateway's events had anyway. Larger events cost the gateway less but every client more (strings over ~128 KB go
 * to V8's large-object space; an SSE client parses nothing of a frame before all of it arrived).
 */
export const maxCoalescedChars = 64 * 1024

interface Appended {
  ownerId: string
  event: AgentEvent
}

/**
 * An owner's consecutive `output` events of one stream, queued together for one group commit, as one event:
 * raw process output is a byte stream whose chunk boundaries (one per pipe read) mean nothing, so a burst
 * that arrived in several reads is stored, framed and parsed once instead of once per read. Any other event of
 * the owner, or its output on the other stream, ends the run of chunks; events of other owners in between do
 * not (each owner's order is its own). `merge` builds the combined entry, placed where its first chunk was.
 */
export function coalesceOutput<Q extends Appended>(
  batch: Q[],
  merge: (first: Q, data: string, parts: Q[]) => Q,
): Q[] {
  const groups: { parts: Q[]; chars: number }[] = []
  /** Per owner, its group still open to more chunks (its last event so far was output). */
  const open = new Map<string, { parts: Q[]; chars: number }>()
  for (const q of batch) {
    const ev = q.event
    const group = open.get(q.ownerId)
    if (ev.type === 'output' && group) {
      const last = group.parts[0]!.event as { stream: string }
      if (last.stream === ev.stream && group.chars + ev.data.length <= maxCoalescedChars) {
        group.parts.push(q)
        group.chars += ev.data.length
        continue
      }
    }
    const next = { parts: [q], chars: ev.type === 'output' ? ev.data.length : 0 }
    groups.push(next)
    if (ev.type === 'output') open.set(q.ownerId, next)
    else open.delete(q.ownerId)
  }
  return groups.map(({ parts }) =>
    parts.length === 1
      ? parts[0]!
      : merge(parts[0]!, parts.map((q) => (q.event as { data: string }).data).join(''), parts),
  )
}
