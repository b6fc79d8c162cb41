import type { ComponentChildren } from 'preact'
import type { Schemas } from '../../../src/client/index.js'
import { call, client, errorText } from '../api.js'
import { refreshPending } from '../pending.js'
import { href } from '../router.js'
import { useInFlight } from '../use-in-flight.js'
import { FileChanges } from './file-changes.js'

export type Approval = Schemas['Approval']
type Decision = Approval['options'][number]

const labels: Record<Decision, string> = {
  accept: 'Accept',
  accept_for_session: 'Accept for session',
  decline: 'Decline',
  cancel: 'Cancel turn',
}

/** What an approval asks: its kind and session, the command or the file changes, where, and why. */
export function ApprovalBody({ approval: a }: { approval: Approval }) {
  return (
    <>
      <p>
        <span class="badge t-approval">{a.kind}</span>{' '}
        <a href={href('sessions', a.sessionId)} class="quiet">
          {a.sessionId}
        </a>
      </p>
      {a.command && <pre class="cmd">$ {a.command}</pre>}
      {a.changes && <FileChanges changes={a.changes} />}
      <WhereAndWhy approval={a} />
    </>
  )
}

/** What an approval asks, in words: its command, else its file changes ("add src/a.ts, update b.ts"), else its kind. */
export const askedText = (a: Approval) =>
  a.command ?? ((a.changes ?? []).map((c) => `${c.kind} ${c.path}`).join(', ') || a.kind)

/**
 * A card of an approval waiting for an answer (the inbox's, a session bar's): a list item whose accessible name is
 * what it asks (the command) and whose description is the rest (its kind, session, where, why). The focus comes to
 * the card itself when the card above it was answered (next-approval.ts), so a screen reader says the command first:
 * on its first control it said the session's id, on its Accept nothing of the command. Tab goes on to its controls.
 */
export function PendingCard({ approval: a, children }: { approval: Approval; children: ComponentChildren }) {
  const about = [
    `${a.kind.replace('_', ' ')} approval`,
    `session ${a.sessionId}`,
    a.cwd && `in ${a.cwd}`,
    a.reason,
  ]
  return (
    <li
      class="card approval"
      data-approval-id={a.id}
      tabIndex={-1}
      aria-labelledby={`${a.id}-asks`}
      aria-describedby={`${a.id}-about`}
    >
      {/* named by these (hidden: the card shows them its own way; a name may come from hidden text) */}
      <span hidden id={`${a.id}-asks`}>
        {askedText(a)}
      </span>
      <span hidden id={`${a.id}-about`}>
        {about.filter(Boolean).join(', ')}
      </span>
      {children}
    </li>
  )
}

/**
 * What an approval asks as a session's bar shows it (its session is the one on the screen): a disclosure whose row
 * is its kind and the command (or the files) on one line on a phone, whole on a wider screen; opened, the command
 * whole, the file changes' diffs, where and why. On a phone the whole card was 340 px of an 844 px screen.
 */
export function ApprovalSummary({ approval: a }: { approval: Approval }) {
  const what = a.command ? `$ ${a.command}` : askedText(a)
  return (
    <details class="approval-summary">
      <summary>
        <span class="badge t-approval">{a.kind}</span> <code class="asked">{what}</code>
      </summary>
      {a.changes && <FileChanges changes={a.changes} />}
      <WhereAndWhy approval={a} />
    </details>
  )
}

/**
 * A button per decision a pending approval offers (but `cancel`): the inbox and the session it belongs to both
 * answer with them. `onAnswered` gets the resolved approval, `onProblem` what went wrong (null when it starts).
 */
export function ApprovalAnswers({
  approval,
  onAnswered,
  onProblem,
}: {
  approval: Approval
  onAnswered?: (resolved: Approval) => void
  onProblem: (problem: string | null) => void
}) {
  // answered once: a double tap on Accept sends one answer (the second was refused as already answered)
  const { once } = useInFlight()
  const answer = (decision: Decision) => once('answer', () => send(decision))
  const send = async (decision: Decision) => {
    onProblem(null)
    try {
      const done = await call(
        client.api.POST('/v1/approvals/{id}', { params: { path: { id: approval.id } }, body: { decision } }),
      )
      onAnswered?.(done)
    } catch (err) {
      onProblem(errorText(err))
    }
    await refreshPending()
  }
  return (
    <div class="actions">
      {approval.options
        .filter((o) => o !== 'cancel')
        .map((o) => (
          <button
            key={o}
            type="button"
            class={o === 'decline' ? 'danger' : o === 'accept' ? '' : 'secondary'}
            onClick={() => answer(o)}
          >
            {labels[o]}
          </button>
        ))}
    </div>
  )
}

/** Where an approval's command runs and why the agent asks, when it says. */
function WhereAndWhy({ approval: a }: { approval: Approval }) {
  return (
    <>
      {a.cwd && (
        <p class="quiet">
          in <code>{a.cwd}</code>
        </p>
      )}
      {a.reason && <p>{a.reason}</p>}
    </>
  )
}
