import { useEffect, useState } from 'preact/hooks'
import type { Schemas } from '../../../src/client/index.js'
import { agents, loadAgents } from '../agents.js'
import { call, client, errorText } from '../api.js'
import { href } from '../router.js'

type Run = Schemas['Run']
const statuses = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'interrupted',
] as const

/** Past and current runs, filtered by status and agent, a page at a time; each opens (and replays) its run. */
export function HistoryView() {
  const [status, setStatus] = useState('')
  const [agent, setAgent] = useState('')
  const [pages, setPages] = useState<string[]>([])
  const [runs, setRuns] = useState<Run[]>([])
  const [next, setNext] = useState<string | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [loaded, setLoaded] = useState(false)
  const cursor = pages.at(-1)
  useEffect(() => {
    loadAgents().catch(() => {})
  }, [])
  useEffect(() => {
    const query = {
      limit: 20,
      ...(status ? { status: status as (typeof statuses)[number] } : {}),
      ...(agent ? { agent } : {}),
      ...(cursor ? { cursor } : {}),
    }
    call(client.api.GET('/v1/runs', { params: { query } }))
      .then((page) => {
        setRuns(page.runs)
        setNext(page.nextCursor)
        setLoaded(true)
      })
      .catch((err) => setProblem(errorText(err)))
  }, [status, agent, cursor])
  return (
    <section aria-labelledby="history-title" data-loaded={loaded || undefined}>
      <h1 id="history-title">History</h1>
      <div class="filters">
        <label>
          Status{' '}
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.currentTarget.value)
              setPages([])
            }}
          >
            <option value="">any</option>
            {statuses.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Agent{' '}
          <select
            value={agent}
            onChange={(e) => {
              setAgent(e.currentTarget.value)
              setPages([])
            }}
          >
            <option value="">any</option>
            {agents.value?.agents.map((a) => (
              <option key={a.id}>{a.id}</option>
            ))}
          </select>
        </label>
      </div>
      {problem && (
        <p class="error-text" role="alert">
          {problem}
        </p>
      )}
      {runs.length === 0 ? (
        <p class="quiet">No runs.</p>
      ) : (
        <ul class="cards">
          {runs.map((r) => (
            <li key={r.id} class="card" data-run-id={r.id}>
              <a href={href('runs', r.id)}>
                <span class={`status s-${r.status}`}>{r.status}</span> <strong>{r.agent}</strong>{' '}
                <span class="quiet when">{new Date(r.createdAt).toLocaleString()}</span>
                <span class="excerpt">{r.request.prompt ?? r.request.command?.cli ?? ''}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
      <div class="actions">
        <button
          type="button"
          class="secondary"
          disabled={pages.length === 0}
          onClick={() => setPages(pages.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!next}
          onClick={() => next && setPages([...pages, next])}
        >
          Older
        </button>
      </div>
    </section>
  )
}
