import { useEffect, useState } from 'preact/hooks'
import type { Schemas } from '../../../src/client/index.js'
import { agentProblem, agents, loadAgents } from '../agents.js'
import { call, client, errorText } from '../api.js'
import { AgentField, ChoiceField, type Sandbox, sandboxes, TextField } from '../components/fields.js'
import { href, navigate } from '../router.js'
import { useInFlight } from '../use-in-flight.js'

type Session = Schemas['Session']
const policies = ['untrusted', 'on-request', 'on-failure', 'never'] as const

/** Sessions: start one (agent, cwd, model, sandbox, approval policy) and the list of existing ones. */
export function SessionsView() {
  const [sessions, setSessions] = useState<Session[]>([])
  const [problem, setProblem] = useState<string | null>(null)
  const [loaded, setLoaded] = useState(false)
  const [agent, setAgent] = useState('')
  const [cwd, setCwd] = useState('')
  const [model, setModel] = useState('')
  const [sandbox, setSandbox] = useState<Sandbox>('workspace-write')
  const [policy, setPolicy] = useState<(typeof policies)[number]>('on-request')
  useEffect(() => {
    loadAgents().catch(() => {})
    call(client.api.GET('/v1/sessions', { params: { query: { limit: 50 } } }))
      .then((page) => {
        setSessions(page.sessions)
        setLoaded(true)
      })
      .catch((err) => setProblem(errorText(err)))
  }, [])
  const withSessions = agents.value?.agents.filter((a) => a.capabilities.sessions) ?? []
  const chosen = withSessions.find((a) => a.id === (agent || agents.value?.default))
  // An agent without approvals honours no policy that asks (the server refuses one): none is sent.
  const asks = chosen?.capabilities.approvals ?? true
  const withApprovals = withSessions.filter((a) => a.capabilities.approvals).map((a) => a.id)
  // one session per tap: a double tap on Start session starts one
  const { once } = useInFlight()
  const create = (e: Event) => {
    e.preventDefault()
    void once('create', start)
  }
  const start = async () => {
    try {
      const created = await call(
        client.api.POST('/v1/sessions', {
          body: {
            sandbox,
            ...(asks ? { approvalPolicy: policy } : {}),
            ...(agent ? { agent } : {}),
            ...(cwd ? { cwd } : {}),
            ...(model ? { model } : {}),
          },
        }),
      )
      navigate('sessions', created.id)
    } catch (err) {
      setProblem(errorText(err))
    }
  }
  return (
    <section aria-labelledby="sessions-title" data-loaded={loaded || undefined}>
      <h1 id="sessions-title">Sessions</h1>
      <form class="compose" onSubmit={create} aria-label="New session">
        <div class="grid">
          <AgentField
            id="s-agent"
            value={agent}
            agents={withSessions}
            disabled={(a) => agentProblem(a) !== null}
            onChange={setAgent}
          >
            <option value="">default</option>
          </AgentField>
          <TextField
            id="s-cwd"
            label="Working directory"
            value={cwd}
            placeholder="workspace root"
            onInput={setCwd}
          />
          <TextField id="s-model" label="Model" value={model} placeholder="default" onInput={setModel} />
          <ChoiceField
            id="s-sandbox"
            label="Sandbox"
            value={sandbox}
            choices={sandboxes}
            onChange={setSandbox}
          />
          {asks ? (
            <ChoiceField
              id="s-policy"
              label="Approval policy"
              value={policy}
              choices={policies}
              onChange={setPolicy}
            />
          ) : (
            <div>
              <label for="s-policy">Approval policy</label>
              <input id="s-policy" value="none: never asks" readOnly aria-describedby="s-policy-why" />
            </div>
          )}
        </div>
        {chosen && !asks && (
          <p class="hint" id="s-policy-why" data-testid="no-approvals">
            {chosen.id} cannot ask for approvals: what its sandbox does not allow is refused, never asked.
            {withApprovals.length > 0 && ` For approvals choose ${withApprovals.join(' or ')}.`}
          </p>
        )}
        <div class="actions">
          <button type="submit">Start session</button>
        </div>
      </form>
      {problem && (
        <p class="error-text" role="alert">
          {problem}
        </p>
      )}
      <ul class="cards">
        {sessions.map((s) => (
          <li key={s.id} class="card">
            <a href={href('sessions', s.id)}>
              <span class={`status s-${s.status}`}>{s.status}</span> <strong>{s.agent}</strong> {s.turnCount}{' '}
              turns <span class="quiet when">{new Date(s.updatedAt).toLocaleString()}</span>
              <code class="excerpt path">{s.cwd}</code>
            </a>
          </li>
        ))}
      </ul>
    </section>
  )
}
