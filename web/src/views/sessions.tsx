import { useEffect, useState } from 'preact/hooks'
import type { Schemas } from '../../../src/client/index.js'
import { agents, loadAgents } from '../agents.js'
import { call, client, errorText } from '../api.js'
import { href, navigate } from '../router.js'

type Session = Schemas['Session']
const policies = ['untrusted', 'on-request', 'on-failure', 'never'] as const
const sandboxes = ['read-only', 'workspace-write', 'danger-full-access'] as const

/** Sessions: start one (agent, cwd, model, sandbox, approval policy) and the list of existing ones. */
export function SessionsView() {
  const [sessions, setSessions] = useState<Session[]>([])
  const [problem, setProblem] = useState<string | null>(null)
  const [loaded, setLoaded] = useState(false)
  const [agent, setAgent] = useState('')
  const [cwd, setCwd] = useState('')
  const [model, setModel] = useState('')
  const [sandbox, setSandbox] = useState<(typeof sandboxes)[number]>('workspace-write')
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
  const create = async (e: Event) => {
    e.preventDefault()
    try {
      const created = await call(
        client.api.POST('/v1/sessions', {
          body: {
            sandbox,
            approvalPolicy: policy,
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
          <div>
            <label for="s-agent">Agent</label>
            <select id="s-agent" value={agent} onChange={(e) => setAgent(e.currentTarget.value)}>
              <option value="">default</option>
              {withSessions.map((a) => (
                <option key={a.id} value={a.id} disabled={!a.installed || !a.authenticated}>
                  {a.id}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="s-cwd">Working directory</label>
            <input
              id="s-cwd"
              value={cwd}
              placeholder="workspace root"
              onInput={(e) => setCwd(e.currentTarget.value)}
            />
          </div>
          <div>
            <label for="s-model">Model</label>
            <input
              id="s-model"
              value={model}
              placeholder="default"
              onInput={(e) => setModel(e.currentTarget.value)}
            />
          </div>
          <div>
            <label for="s-sandbox">Sandbox</label>
            <select
              id="s-sandbox"
              value={sandbox}
              onChange={(e) => setSandbox(e.currentTarget.value as (typeof sandboxes)[number])}
            >
              {sandboxes.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </div>
          <div>
            <label for="s-policy">Approval policy</label>
            <select
              id="s-policy"
              value={policy}
              onChange={(e) => setPolicy(e.currentTarget.value as (typeof policies)[number])}
            >
              {policies.map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          </div>
        </div>
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
              turns <span class="quiet">{new Date(s.updatedAt).toLocaleString()}</span>
              <code class="excerpt">{s.cwd}</code>
            </a>
          </li>
        ))}
      </ul>
    </section>
  )
}
