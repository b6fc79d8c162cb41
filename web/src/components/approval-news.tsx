import { useEffect, useRef, useState } from 'preact/hooks'
import { pendingApprovals, pendingRead } from '../pending.js'
import { askedText } from './approval-card.js'

const kept = 6

/**
 * What a screen reader says when an approval is asked while the console is open, in whichever view (a `log`
 * region, read politely, not shown): "Approval waiting: <its command> (session <id>)". An agent waits on it, and the
 * count on Approvals (or Menu) changes silently. Not those waiting when the list was first read (a load does not
 * read them out), nor one of the session on the screen (`shownSession`): its view's own news says it.
 */
export function ApprovalNews({ shownSession }: { shownSession: string | undefined }) {
  const pending = pendingApprovals.value
  const read = pendingRead.value
  const known = useRef<Set<string> | null>(null)
  const [lines, setLines] = useState<{ id: string; text: string }[]>([])
  useEffect(() => {
    if (!read) return
    if (!known.current) {
      known.current = new Set(pending.map((a) => a.id))
      return
    }
    const seen = known.current
    const added = pending.filter((a) => !seen.has(a.id))
    for (const a of added) seen.add(a.id)
    const said = added
      .filter((a) => a.sessionId !== shownSession)
      .map((a) => ({ id: a.id, text: `Approval waiting: ${askedText(a)} (session ${a.sessionId})` }))
    if (said.length > 0) setLines((old) => [...old, ...said].slice(-kept))
  }, [pending, read])
  return (
    <div class="sr-only" role="log" aria-label="Approvals asked" data-testid="approval-news">
      {lines.map((l) => (
        <p key={l.id}>{l.text}</p>
      ))}
    </div>
  )
}
