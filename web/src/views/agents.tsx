import { useEffect, useState } from 'preact/hooks'
import { agentProblem, agents, loadAgents } from '../agents.js'
import { errorText } from '../api.js'

/** Every agent: installed, version, authenticated, what to do when not, capabilities. */
export function AgentsView() {
  const [problem, setProblem] = useState<string | null>(null)
  useEffect(() => {
    loadAgents(true).catch((err) => setProblem(errorText(err)))
  }, [])
  return (
    <section aria-labelledby="agents-title" data-loaded={agents.value ? true : undefined}>
      <h1 id="agents-title">Agents</h1>
      {problem && (
        <p class="error-text" role="alert">
          {problem}
        </p>
      )}
      <div class="table-wrap">
        <table class="agents-table">
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Installed</th>
              <th scope="col">Authenticated</th>
              <th scope="col">Capabilities</th>
              <th scope="col">What to do</th>
            </tr>
          </thead>
          <tbody>
            {agents.value?.agents.map((a) => (
              <tr key={a.id} data-agent={a.id}>
                <th scope="row">
                  {a.id}
                  {a.id === agents.value?.default && <span class="quiet"> (default)</span>}
                </th>
                <td data-label="Installed">{a.installed ? (a.version ?? 'yes') : 'no'}</td>
                <td data-label="Authenticated">{a.authenticated ? 'yes' : 'no'}</td>
                <td data-label="Capabilities">
                  {Object.entries(a.capabilities)
                    .filter(([, on]) => on)
                    .map(([k]) => k)
                    .join(', ') || '—'}
                </td>
                <td data-label="What to do">{agentProblem(a) ?? 'ready'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}
