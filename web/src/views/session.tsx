import { useEffect, useState } from 'preact/hooks'
import type { Schemas } from '../../../src/client/index.js'
import type { StoredEvent } from '../../../src/protocol/events.js'
import { agents, loadAgents } from '../agents.js'
import { call, client, errorText } from '../api.js'
import { ApprovalAnswers, ApprovalBody } from '../components/approval-card.js'
import { EventList } from '../components/events.js'
import { pendingApprovals } from '../pending.js'
import { href, navigate } from '../router.js'
import { useEvents } from '../use-events.js'

type SessionWithTurns = Schemas['Session'] & { turns: Schemas['Turn'][] }

/**
 * One session as a conversation: each turn's input, then its events. Live through the session's event stream,
 * so two tabs on one session show the same thing. Send (queue / steer / reject while busy), interrupt, fork,
 * archive.
 */
export function SessionView({ id }: { id: string }) {
  const { events, state, error } = useEvents('session', id)
  const [session, setSession] = useState<SessionWithTurns | null>(null)
  const [input, setInput] = useState('')
  const [onBusy, setOnBusy] = useState<'queue' | 'steer' | 'reject'>('queue')
  const [problem, setProblem] = useState<string | null>(null)
  const canSteer =
    session === null || agents.value?.agents.find((a) => a.id === session.agent)?.capabilities.steer !== false
  const turnEvents = events.filter((e) => e.type.startsWith('turn.') || e.type === 'session.status').length
  useEffect(() => {
    loadAgents().catch(() => {})
  }, [])
  useEffect(() => {
    call(client.api.GET('/v1/sessions/{id}', { params: { path: { id } } }))
      .then((s) => setSession(s as SessionWithTurns))
      .catch((err) => setProblem(errorText(err)))
  }, [id, turnEvents])
  const act = async (action: () => Promise<unknown>) => {
    setProblem(null)
    try {
      await action()
    } catch (err) {
      setProblem(errorText(err))
    }
  }
  const send = (e: Event) => {
    e.preventDefault()
    if (!input.trim()) return
    void act(async () => {
      await call(
        client.api.POST('/v1/sessions/{id}/turns', { params: { path: { id } }, body: { input, onBusy } }),
      )
      setInput('')
    })
  }
  const path = { params: { path: { id } } }
  const busy = session?.status === 'running' || session?.status === 'waiting_for_approval'
  const archived = session?.status === 'archived'
  // answered here too, so a phone following the session need not leave it for the inbox
  const waiting = pendingApprovals.value.filter((a) => a.sessionId === id)
  return (
    <section aria-labelledby="session-title" data-loaded={session ? true : undefined}>
      <h1 id="session-title">
        Session <code>{id}</code>
      </h1>
      {session && (
        <dl class="facts">
          <dt>State</dt>
          <dd>
            <span class={`status s-${session.status}`} data-testid="session-status">
              {session.status}
            </span>
          </dd>
          <dt>Agent</dt>
          <dd>{session.agent}</dd>
          <dt>Directory</dt>
          <dd>
            <code>{session.cwd}</code>
          </dd>
          <dt>Sandbox</dt>
          <dd>{session.sandbox ?? 'default'}</dd>
          <dt>Approvals</dt>
          <dd data-testid="session-approvals">
            {session.approvalPolicy ??
              (agents.value?.agents.find((a) => a.id === session.agent)?.capabilities.approvals === false
                ? 'none: this agent cannot ask'
                : typeof session.agentApprovalPolicy === 'string'
                  ? `default (${session.agentApprovalPolicy})`
                  : 'default')}
          </dd>
          {session.allowedForSession && session.allowedForSession.length > 0 && (
            <>
              <dt>Allowed for the session</dt>
              <dd data-testid="session-allowed">
                <ul class="allowed-rules">
                  {session.allowedForSession.map((rule) => (
                    <li key={rule}>
                      <code>{rule}</code>
                    </li>
                  ))}
                </ul>
              </dd>
            </>
          )}
          {session.forkedFrom && (
            <>
              <dt>Forked from</dt>
              <dd>
                <a href={href('sessions', session.forkedFrom)}>{session.forkedFrom}</a>
              </dd>
            </>
          )}
        </dl>
      )}
      <div class="toolbar">
        <span class={`stream-state st-${state}`} role="status" data-testid="stream-state">
          {state}
        </span>
        <button
          type="button"
          class="secondary"
          disabled={!busy}
          onClick={() => act(() => call(client.api.POST('/v1/sessions/{id}/interrupt', path)))}
        >
          Interrupt
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() =>
            act(async () =>
              navigate('sessions', (await call(client.api.POST('/v1/sessions/{id}/fork', path))).id),
            )
          }
        >
          Fork
        </button>
        <button
          type="button"
          class="secondary"
          disabled={archived}
          onClick={() => act(() => call(client.api.POST('/v1/sessions/{id}/archive', path)))}
        >
          Archive
        </button>
      </div>
      {(problem || error) && (
        <p class="error-text" role="alert">
          {problem ?? error}
        </p>
      )}
      <ol class="conversation" aria-label="Turns">
        {(session?.turns ?? []).map((t, i) => (
          <li key={t.id} class="turn" data-turn-id={t.id}>
            <div class="user-input">
              <span class="quiet">
                Turn {i + 1} · <span class={`status s-${t.status}`}>{t.status}</span>
                {t.approvalPolicy !== undefined && t.approvalPolicy !== session?.approvalPolicy && (
                  // a turn that named its own approval policy (the audit: it ran with less or more asking)
                  <span data-testid="turn-approvals"> · approvals: {t.approvalPolicy ?? 'default'}</span>
                )}
              </span>
              <p>{t.input.map((part) => part.text).join('\n')}</p>
            </div>
            <EventList events={eventsOfTurn(events, t.id)} />
          </li>
        ))}
      </ol>
      {waiting.length > 0 && (
        <ul class="cards" aria-label="Waiting for your answer">
          {waiting.map((a) => (
            <li key={a.id} class="card approval" data-approval-id={a.id}>
              <ApprovalBody approval={a} />
              <ApprovalAnswers approval={a} onProblem={setProblem} />
            </li>
          ))}
        </ul>
      )}
      <form class="compose" onSubmit={send} aria-label="Send a turn">
        <label for="turn-input">Message</label>
        <textarea
          id="turn-input"
          rows={3}
          value={input}
          disabled={archived}
          placeholder="Ask the agent (Ctrl+Enter sends)"
          onInput={(e) => setInput(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) send(e)
          }}
        />
        <div class="actions">
          <label>
            While busy{' '}
            <select value={onBusy} onChange={(e) => setOnBusy(e.currentTarget.value as typeof onBusy)}>
              <option value="queue">queue</option>
              {/* an agent that cannot steer queues such input as the next turn: not offered */}
              <option value="steer" disabled={!canSteer}>
                steer the running turn{canSteer ? '' : ' (this agent cannot)'}
              </option>
              <option value="reject">reject</option>
            </select>
          </label>
          <button type="submit" disabled={archived || !input.trim()}>
            Send
          </button>
        </div>
      </form>
    </section>
  )
}

/**
 * The events between a turn's turn.started and its end (session events carry no turn id on items), and its
 * steers (a steer into a turn whose start was still being stored comes just before its turn.started). A steer its
 * agent refused (its turn had ended) is not the turn's: its refusal shows in the turn its input became instead. A
 * steer whose sending failed (withdrawn) is not the turn's either: its failure shows in the turn it was sent to.
 */
function eventsOfTurn(events: StoredEvent[], turnId: string): StoredEvent[] {
  const out: StoredEvent[] = []
  const withdrawn = new Set(
    events.flatMap((ev) =>
      ev.type === 'turn.steer_refused' || ev.type === 'turn.steer_failed' ? [ev.steeredSeq] : [],
    ),
  )
  let inside = false
  for (const ev of events) {
    if (ev.type === 'turn.started') inside = ev.turnId === turnId
    if (ev.type === 'turn.steered') {
      if (ev.turnId === turnId && !withdrawn.has(ev.seq)) out.push(ev)
    } else if (ev.type === 'turn.steer_refused') {
      if (ev.queuedTurnId === turnId) out.push(ev)
    } else if (ev.type === 'turn.steer_failed') {
      if (ev.turnId === turnId) out.push(ev)
    } else if (inside && ev.type !== 'session.status') out.push(ev)
    if ((ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turnId) inside = false
  }
  return out
}
