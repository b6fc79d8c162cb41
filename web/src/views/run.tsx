import { useEffect, useState } from 'preact/hooks'
import type { Schemas } from '../../../src/client/index.js'
import { call, client, errorText } from '../api.js'
import { EventList, RawEvents } from '../components/events.js'
import { StreamNews } from '../components/stream-news.js'
import { useEvents } from '../use-events.js'

type Run = Schemas['Run']

/** One run: its events by kind (live while it runs), status, usage, duration, cancel. */
export function RunView({ id }: { id: string }) {
  const { events, state, error } = useEvents('run', id)
  const [run, setRun] = useState<Run | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [raw, setRaw] = useState(false)
  // what a screen reader is told starts after what the run had when the view first read it
  const [since, setSince] = useState<number>()
  const ended = events.some((e) => e.type === 'run.completed')
  const started = events.some((e) => e.type === 'run.started')
  useEffect(() => {
    call(client.api.GET('/v1/runs/{id}', { params: { path: { id } } }))
      .then((r) => {
        setRun(r)
        setSince((first) => first ?? r.lastSeq)
      })
      .catch((err) => setProblem(errorText(err)))
  }, [id, ended, started])
  const cancel = () =>
    call(client.api.POST('/v1/runs/{id}/cancel', { params: { path: { id } } }))
      .then(setRun)
      .catch((err) => setProblem(errorText(err)))
  return (
    <section aria-labelledby="run-title" data-loaded={run ? true : undefined}>
      <h1 id="run-title">
        Run <code>{id}</code>
      </h1>
      {run && (
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <span class={`status s-${run.status}`} data-testid="run-status">
              {run.status}
            </span>
          </dd>
          <dt>Agent</dt>
          <dd>{run.agent}</dd>
          {run.request.model && (
            <>
              <dt>Model</dt>
              <dd>{run.request.model}</dd>
            </>
          )}
          <dt>Directory</dt>
          <dd>
            <code>{run.request.cwd}</code>
          </dd>
          <dt>Duration</dt>
          <dd>{duration(run)}</dd>
          {run.usage && (
            <>
              <dt>Usage</dt>
              <dd>
                {run.usage.inputTokens} in ({run.usage.cachedInputTokens} cached) · {run.usage.outputTokens}{' '}
                out
              </dd>
            </>
          )}
        </dl>
      )}
      {run?.request.prompt && <blockquote class="prompt">{run.request.prompt}</blockquote>}
      <div class="toolbar">
        <span class={`stream-state st-${state}`} role="status" data-testid="stream-state">
          {state === 'live' && !ended ? 'live' : state}
        </span>
        {run && (run.status === 'queued' || run.status === 'running') && !ended && (
          <button type="button" class="danger" onClick={cancel}>
            Cancel run
          </button>
        )}
        <label class="inline">
          <input type="checkbox" checked={raw} onChange={(e) => setRaw(e.currentTarget.checked)} /> Raw events
        </label>
      </div>
      <StreamNews events={events} since={since} />
      {(problem || error) && (
        <p class="error-text" role="alert">
          {problem ?? error}
        </p>
      )}
      {raw ? <RawEvents events={events} /> : <EventList events={events} />}
      {run?.result !== undefined && (
        <>
          <h2>Result</h2>
          <pre>{JSON.stringify(run.result, null, 2)}</pre>
        </>
      )}
    </section>
  )
}

function duration(run: Run): string {
  if (!run.startedAt) return '—'
  const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now()
  return `${((end - Date.parse(run.startedAt)) / 1000).toFixed(1)} s`
}
