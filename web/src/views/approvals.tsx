import { useEffect, useRef, useState } from 'preact/hooks'
import { call, client } from '../api.js'
import { type Approval, ApprovalAnswers, ApprovalBody, PendingCard } from '../components/approval-card.js'
import { nextApprovalFocus, waitingCard } from '../next-approval.js'
import { pendingApprovals } from '../pending.js'
import { useFocusRescue } from '../use-focus-rescue.js'

/** The inbox: pending approvals across every session (live), and the ones answered lately with their decision. */
export function ApprovalsView() {
  const [resolved, setResolved] = useState<Approval[]>([])
  const [problem, setProblem] = useState<string | null>(null)
  const [loaded, setLoaded] = useState(false)
  const pending = pendingApprovals.value
  useEffect(() => {
    call(client.api.GET('/v1/approvals', { params: { query: { state: 'resolved' } } }))
      .then((r) => {
        setResolved(r.approvals.slice(0, 20))
        setLoaded(true)
      })
      .catch(() => {})
  }, [pending.length])
  // The answered card goes, and the focus with it (to the page's top): a keyboard emptying the inbox goes on at
  // the next card (next-approval.ts: the card, named by its command), or at the heading once none is left. Only a control that was
  // in a card hands the focus on, read when it went (before: a flag an answer set was read whenever the list changed
  // with the focus on the page, so a card that came in later, the focus moved on meanwhile, took it on its Accept).
  const view = useRef<HTMLElement>(null)
  const pendingHeading = useRef<HTMLHeadingElement>(null)
  const list = useRef<HTMLUListElement>(null)
  useFocusRescue(view, (lost) =>
    waitingCard(lost) ? (nextApprovalFocus(lost, list.current) ?? pendingHeading.current) : null,
  )
  const answered = (done: Approval) =>
    setResolved((before) => [done, ...before.filter((r) => r.id !== done.id)])
  return (
    <section ref={view} aria-labelledby="approvals-title" data-loaded={loaded || undefined}>
      <h1 id="approvals-title">Approvals</h1>
      {problem && (
        <p class="error-text" role="alert">
          {problem}
        </p>
      )}
      <h2 ref={pendingHeading} tabIndex={-1}>
        Pending
      </h2>
      {pending.length === 0 ? (
        <p class="quiet">Nothing is waiting for an answer.</p>
      ) : (
        <ul ref={list} class="cards">
          {pending.map((a) => (
            <PendingCard key={a.id} approval={a}>
              <ApprovalBody approval={a} />
              <ApprovalAnswers approval={a} onAnswered={answered} onProblem={setProblem} />
            </PendingCard>
          ))}
        </ul>
      )}
      <h2>Answered</h2>
      <ul class="cards">
        {resolved.map((a) => (
          <li key={a.id} class="card approval resolved" data-approval-id={a.id}>
            <ApprovalBody approval={a} />
            <p>
              <strong class={`decision d-${a.decision}`} data-testid="decision">
                {a.decision}
              </strong>{' '}
              <span class="quiet">
                by {a.by} {a.resolvedAt && new Date(a.resolvedAt).toLocaleTimeString()}
              </span>
            </p>
          </li>
        ))}
      </ul>
    </section>
  )
}
