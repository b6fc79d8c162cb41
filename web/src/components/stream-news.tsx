import { useEffect, useRef, useState } from 'preact/hooks'
import type { StoredEvent } from '../../../src/protocol/events.js'

const kept = 6
const longest = 400

/**
 * What a screen reader says as a run or a turn goes on (a `log` region, read politely as lines are added, not
 * shown): each message the agent finished, each command that ended, an approval waiting, the end of a turn or run.
 * Only what comes after `since` (the record's `lastSeq` when the view first read it): a reload or a replay does
 * not read the history out again. The streamed text itself is not a live region: read delta by delta, a message
 * would be spoken in fragments.
 */
export function StreamNews({ events, since }: { events: StoredEvent[]; since: number | undefined }) {
  const [lines, setLines] = useState<{ seq: number; text: string }[]>([])
  const told = useRef<number | null>(null)
  useEffect(() => {
    if (since === undefined) return
    const after = Math.max(told.current ?? since, since)
    const news = events.filter((ev) => ev.seq > after)
    if (news.length === 0) return
    told.current = news.at(-1)!.seq
    const added = news.flatMap((ev) => {
      const text = announcement(ev)
      return text ? [{ seq: ev.seq, text }] : []
    })
    if (added.length > 0) setLines((old) => [...old, ...added].slice(-kept))
  }, [events, since])
  return (
    <div class="sr-only" role="log" aria-label="What happened last" data-testid="stream-news">
      {lines.map((l) => (
        <p key={l.seq}>{l.text}</p>
      ))}
    </div>
  )
}

const cut = (text: string) => (text.length > longest ? `${text.slice(0, longest)}…` : text)

/** A message as said, not its Markdown's marks: emphasis, code ticks and heading hashes dropped. */
const plain = (markdown: string) =>
  markdown
    .replace(/\*\*|__|`+/g, '')
    .replace(/^#{1,6}\s+/gm, '')
    .trim()

/** What is said of an event, or null for one not worth a word (a delta, a start, a raw event). */
export function announcement(ev: StoredEvent): string | null {
  switch (ev.type) {
    case 'item.completed': {
      const item = ev.item
      if (item.type === 'agent_message') return item.text ? `The agent says: ${cut(plain(item.text))}` : null
      if (item.type === 'command_execution')
        return `Command ${item.status}${item.exitCode !== null ? `, exit ${item.exitCode}` : ''}: ${cut(item.command)}`
      if (item.type === 'file_change')
        return `File change ${item.status}: ${item.changes.map((c) => c.path).join(', ')}`
      if (item.type === 'error') return `Error: ${cut(item.message)}`
      return null
    }
    case 'approval.requested':
      return `Waiting for your approval: ${ev.kind} ${cut(ev.command ?? ev.changes?.map((c) => c.path).join(', ') ?? '')}`
    case 'approval.resolved':
      return `Approval answered: ${ev.decision}`
    case 'turn.completed':
      // a run's one turn: its end is said by run.completed
      if (ev.runId) return null
      return `Turn ${ev.status ?? 'completed'}${ev.error ? `: ${cut(ev.error)}` : ''}`
    case 'turn.failed':
      return `Turn failed: ${cut(ev.error)}`
    case 'run.completed':
      return `Run ${ev.status}${ev.error ? `: ${cut(ev.error)}` : ''}`
    default:
      return null
  }
}
