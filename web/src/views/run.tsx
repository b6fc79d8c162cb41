import { useEffect, useRef, useState } from 'preact/hooks'
import type { Schemas } from '../../../src/client/index.js'
import { call, client, errorText } from '../api.js'
import { ConnectionNote, reconnecting, StreamStatus } from '../components/connection-note.js'
import { EventList, RawEvents } from '../components/events.js'
import { StructuredAnswer } from '../components/schema-field.js'
import { StreamNews } from '../components/stream-news.js'
import { startedHere } from '../started-here.js'
import { useEvents } from '../use-events.js'
import { useFocusRescue } from '../use-focus-rescue.js'
import { useFollowTail } from '../use-follow-tail.js'

type Run = Schemas['Run']

/**
 * One run: its events by kind (live while it runs), status, usage, duration, cancel. The view follows new output
 * while the reader is at its end (use-follow-tail.ts); Cancel run stays at the screen's bottom while the run runs.
 */
export function RunView({ id }: { id: string }) {
  const { events, state, error } = useEvents('run', id)
  const [run, setRun] = useState<Run | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [raw, setRaw] = useState(false)
  // what a screen reader is told (and what the view follows) starts after what the run had when the view first read
  // it; of a run this page started, all of it
  const [since, setSince] = useState<number | undefined>(startedHere(id) ? 0 : undefined)
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
  const newest = events.at(-1)?.seq ?? 0
  const follow = useFollowTail(newest, since !== undefined && newest > since)
  // Cancel run goes once the run ended: the focus it had goes to the heading, not to the page's top
  const view = useRef<HTMLElement>(null)
  useFocusRescue(view, () => document.getElementById('run-title'))
  const running = run !== null && (run.status === 'queued' || run.status === 'running') && !ended
  const cancel = () =>
    call(client.api.POST('/v1/runs/{id}/cancel', { params: { path: { id } } }))
      .then(setRun)
      .catch((err) => setProblem(errorText(err)))
  return (
    <section ref={view} aria-labelledby="run-title" data-loaded={run ? true : undefined}>
      <h1 id="run-title" tabIndex={-1}>
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
        <StreamStatus
          state={state}
          noted={running && reconnecting(state)}
          text={state === 'live' && !ended ? 'live' : state}
        />
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
      {/* with an outputSchema: the final response parsed and checked against it */}
      {run?.result !== undefined && <StructuredAnswer value={run.result} />}
      <div ref={follow.end} class="tail-end" />
      <div class={`action-bar${running ? '' : ' bare'}`} data-following={follow.following}>
        {follow.behind && (
          <button type="button" class="jump" onClick={follow.jump}>
            <span aria-hidden="true">↓</span> New output
          </button>
        )}
        {running && <ConnectionNote state={state} />}
        {running && (
          <div class="actions">
            <button type="button" class="danger" onClick={cancel}>
              Cancel run
            </button>
          </div>
        )}
      </div>
    </section>
  )
}

function duration(run: Run): string {
  if (!run.startedAt) return '—'
  const end = run.finishedAt ? Date.parse(run.finishedAt) : Date.now()
  return `${((end - Date.parse(run.startedAt)) / 1000).toFixed(1)} s`
}
