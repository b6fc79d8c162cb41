import { useEffect, useState } from 'preact/hooks'
import type { Schemas } from '../../../src/client/index.js'
import { call, client, errorText } from '../api.js'
import { FileChanges } from '../components/file-changes.js'
import { pendingApprovals, refreshPending } from '../pending.js'
import { href } from '../router.js'

type Approval = Schemas['Approval']
type Decision = Approval['options'][number]

const labels: Record<Decision, string> = {
  accept: 'Accept',
  accept_for_session: 'Accept for session',
  decline: 'Decline',
  cancel: 'Cancel turn',
}

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
  const answer = async (a: Approval, decision: Decision) => {
    setProblem(null)
    try {
      const done = await call(
        client.api.POST('/v1/approvals/{id}', { params: { path: { id: a.id } }, body: { decision } }),
      )
      setResolved([done, ...resolved.filter((r) => r.id !== done.id)])
      await refreshPending()
    } catch (err) {
      setProblem(errorText(err))
      await refreshPending()
    }
  }
  return (
    <section aria-labelledby="approvals-title" data-loaded={loaded || undefined}>
      <h1 id="approvals-title">Approvals</h1>
      {problem && (
        <p class="error-text" role="alert">
          {problem}
        </p>
      )}
      <h2>Pending</h2>
      {pending.length === 0 ? (
        <p class="quiet">Nothing is waiting for an answer.</p>
      ) : (
        <ul class="cards">
          {pending.map((a) => (
            <li key={a.id} class="card approval" data-approval-id={a.id}>
              <ApprovalBody approval={a} />
              <div class="actions">
                {a.options
                  .filter((o) => o !== 'cancel')
                  .map((o) => (
                    <button
                      key={o}
                      type="button"
                      class={o === 'decline' ? 'danger' : o === 'accept' ? '' : 'secondary'}
                      onClick={() => answer(a, o)}
                    >
                      {labels[o]}
                    </button>
                  ))}
              </div>
            </li>
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

function ApprovalBody({ approval: a }: { approval: Approval }) {
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
      {a.cwd && (
        <p class="quiet">
          in <code>{a.cwd}</code>
        </p>
      )}
      {a.reason && <p>{a.reason}</p>}
    </>
  )
}
