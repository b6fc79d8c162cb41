import { useEffect, useRef, useState } from 'preact/hooks'
import type { Schemas } from '../../../src/client/index.js'
import { agents, loadAgents } from '../agents.js'
import { call, client, errorText } from '../api.js'
import { ApprovalAnswers, ApprovalSummary, PendingCard } from '../components/approval-card.js'
import { ConnectionNote, reconnecting, StreamStatus } from '../components/connection-note.js'
import { EventList } from '../components/events.js'
import { SchemaField, StructuredAnswer } from '../components/schema-field.js'
import { StreamNews } from '../components/stream-news.js'
import { nextApprovalFocus } from '../next-approval.js'
import { readSchema, schemaRefusal, structuredAnswer } from '../output-schema.js'
import { pendingApprovals } from '../pending.js'
import { href, navigate } from '../router.js'
import { eventsOfTurn } from '../turn-events.js'
import { inputText } from '../turn-input.js'
import { useEvents } from '../use-events.js'
import { touchScreen, useFocusRescue } from '../use-focus-rescue.js'
import { useFollowTail } from '../use-follow-tail.js'
import { type ForkHistory, useForkHistory } from '../use-fork-history.js'
import { useInFlight } from '../use-in-flight.js'

type SessionWithTurns = Schemas['Session'] & { turns: Schemas['Turn'][] }

/**
 * One session as a conversation: each turn's input, then its events. Live through the session's event stream,
 * so two tabs on one session show the same thing. Send (queue / steer / reject while busy), interrupt, fork,
 * archive. What a reader acts with as the session goes on (the message box, Send, Interrupt, the approvals
 * waiting) is a bar at the screen's bottom however long the session (on a phone it scrolled thousands of pixels
 * away); the view follows new output while the reader is at its end (use-follow-tail.ts).
 */
export function SessionView({ id }: { id: string }) {
  const { events, state, error } = useEvents('session', id)
  const [session, setSession] = useState<SessionWithTurns | null>(null)
  const [input, setInput] = useState('')
  const [onBusy, setOnBusy] = useState<'queue' | 'steer' | 'reject'>('queue')
  const [problem, setProblem] = useState<string | null>(null)
  const [schema, setSchema] = useState('')
  const [schemaProblem, setSchemaProblem] = useState<string | null>(null)
  // what a screen reader is told starts after what the session had when the view first read it
  const [since, setSince] = useState<number>()
  // a fork's own events start after its fork point: what it holds from its parent is read from the parent
  const history = useForkHistory(session)
  const inherited = history?.turns ?? []
  const capabilities =
    session === null ? undefined : agents.value?.agents.find((a) => a.id === session.agent)?.capabilities
  const canSteer = capabilities?.steer !== false
  // a turn's own output schema: offered only for an agent whose turns take one (GET /v1/agents)
  const turnSchema = capabilities?.turnOutputSchema === true
  const turnEvents = events.filter((e) => e.type.startsWith('turn.') || e.type === 'session.status').length
  useEffect(() => {
    loadAgents().catch(() => {})
  }, [])
  useEffect(() => {
    call(client.api.GET('/v1/sessions/{id}', { params: { path: { id } } }))
      .then((s) => {
        setSession(s as SessionWithTurns)
        setSince((first) => first ?? s.lastSeq)
      })
      .catch((err) => setProblem(errorText(err)))
  }, [id, turnEvents])
  // one request per action at a time: a double tap on Send sends one turn (the button keeps its focus)
  const { once } = useInFlight()
  const act = (name: string, action: () => Promise<unknown>) =>
    once(name, async () => {
      setProblem(null)
      try {
        await action()
      } catch (err) {
        setProblem(errorText(err))
      }
    })
  // the text as typed, read when Send is tapped (a second tap after the first's answer, before the render that
  // cleared the box, finds it empty)
  const typed = useRef('')
  const type = (text: string) => {
    typed.current = text
    setInput(text)
  }
  const send = (e: Event) => {
    e.preventDefault()
    void act('send', async () => {
      const text = typed.current
      if (!text.trim()) return
      setSchemaProblem(null)
      const { schema: outputSchema, error } = readSchema(turnSchema ? schema : '')
      if (error) return setSchemaProblem(error)
      try {
        await call(
          client.api.POST('/v1/sessions/{id}/turns', {
            params: { path: { id } },
            body: { input: text, onBusy, ...(outputSchema ? { outputSchema } : {}) },
          }),
        )
      } catch (err) {
        const refusal = schemaRefusal(err)
        if (!refusal) throw err
        return setSchemaProblem(refusal)
      }
      type('')
      // what was sent is at the end: the view goes there and follows it
      follow.toEnd()
    })
  }
  const path = { params: { path: { id } } }
  // answered here too (in the bar at the screen's bottom), so a phone following the session need not leave it
  const waiting = pendingApprovals.value.filter((a) => a.sessionId === id)
  const newest = events.at(-1)?.seq ?? 0
  const follow = useFollowTail(
    // an approval's card grows the bar: the end it covered is shown again
    `${newest}:${session?.turns.length ?? 0}:${waiting.length}`,
    since !== undefined && newest > since,
  )
  // a control gone or disabled with the focus (Send once sent, Interrupt once idle, an answer once its card went):
  // after an answer, the next approval's card takes it (next-approval.ts); else the message box (else,
  // archived, the heading). Only an answer hands it to the next card: a card that came in before Send's rescue (a slow phone)
  // would otherwise take the focus from the message just sent, and a stray Enter accept an unread command. On a
  // touch screen only Send gives it to the box (the keyboard was open for it): after a tap on an answer or
  // Interrupt, the box would open the on-screen keyboard over the output the reader now watches, so the bar takes it.
  const view = useRef<HTMLElement>(null)
  const bar = useRef<HTMLElement>(null)
  const box = useRef<HTMLTextAreaElement>(null)
  useFocusRescue(view, (lost) => {
    const next = nextApprovalFocus(lost, bar.current?.querySelector('.waiting'))
    if (next) return next
    if (!box.current || box.current.disabled) return document.getElementById('session-title')
    const sent = lost.matches('.compose button[type=submit]')
    return touchScreen() && !sent ? bar.current : box.current
  })
  const busy = session?.status === 'running' || session?.status === 'waiting_for_approval'
  const archived = session?.status === 'archived'
  return (
    <section ref={view} aria-labelledby="session-title" data-loaded={session ? true : undefined}>
      <h1 id="session-title" tabIndex={-1}>
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
                <a href={href('sessions', session.forkedFrom)}>
                  <code>{session.forkedFrom}</code>
                </a>
                {history?.atTurn !== undefined && ` ${history.cut ? 'during' : 'at'} turn ${history.atTurn}`}
              </dd>
            </>
          )}
        </dl>
      )}
      <div class="toolbar">
        <StreamStatus state={state} noted={reconnecting(state)} />
        <button
          type="button"
          class="secondary"
          onClick={() =>
            act('fork', async () =>
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
          onClick={() => act('archive', () => call(client.api.POST('/v1/sessions/{id}/archive', path)))}
        >
          Archive
        </button>
      </div>
      <StreamNews events={events} since={since} />
      <ol class="conversation" aria-label="Turns">
        {inherited.map(({ turn: t, sessionId, events: theirs, cut }, i) => (
          <li key={t.id} class={`turn inherited${cut ? ' cut' : ''}`} data-turn-id={t.id}>
            <div class="user-input">
              <span class="quiet">
                Turn {i + 1} ·{' '}
                {cut ? (
                  // what the fork holds of it: its parent's record goes on past the fork point
                  <span class="status s-interrupted" data-testid="cut-turn">
                    interrupted at the fork point
                  </span>
                ) : (
                  <span class={`status s-${t.status}`}>{t.status}</span>
                )}{' '}
                · from <code>{sessionId}</code>
              </span>
              <p>{inputText(t.input)}</p>
            </div>
            <EventList events={theirs} {...(cut ? { aborted: cut.aborted } : {})} />
          </li>
        ))}
        {history && <ForkPoint history={history} />}
        {(session?.turns ?? []).map((t, i) => (
          <li key={t.id} class="turn" data-turn-id={t.id}>
            <div class="user-input">
              <span class="quiet">
                Turn {inherited.length + i + 1} · <span class={`status s-${t.status}`}>{t.status}</span>
                {t.approvalPolicy !== undefined && t.approvalPolicy !== session?.approvalPolicy && (
                  // a turn that named its own approval policy (the audit: it ran with less or more asking)
                  <span data-testid="turn-approvals"> · approvals: {t.approvalPolicy ?? 'default'}</span>
                )}
              </span>
              <p>{inputText(t.input)}</p>
            </div>
            {/* its approvals waiting are answered in the bar below (a turn a fork holds: in the inbox) */}
            <EventList events={eventsOfTurn(events, t.id)} answers="below" />
            <TurnAnswer turn={t} />
          </li>
        ))}
      </ol>
      <div ref={follow.end} class="tail-end" />
      <section
        ref={bar}
        class="action-bar"
        data-following={follow.following}
        aria-label="Actions"
        tabIndex={-1}
      >
        {follow.behind && (
          <button type="button" class="jump" onClick={follow.jump}>
            <span aria-hidden="true">↓</span> New output
          </button>
        )}
        <ConnectionNote state={state} />
        {(problem || error) && (
          <p class="error-text" role="alert">
            {problem ?? error}
          </p>
        )}
        {waiting.length > 0 && (
          <ul class="cards waiting" aria-label="Waiting for your answer">
            {waiting.map((a) => (
              <PendingCard key={a.id} approval={a}>
                <ApprovalSummary approval={a} />
                <ApprovalAnswers approval={a} onProblem={setProblem} />
              </PendingCard>
            ))}
          </ul>
        )}
        {/* busy: Interrupt and While busy shown on a phone (idle, they do nothing: a row of the bar less); in the
            DOM in the order a phone shows them (Interrupt beside Send, While busy below), so Tab goes as the eye does */}
        <form class="compose" onSubmit={send} aria-label="Send a turn" data-busy={busy || undefined}>
          <label for="turn-input" class="sr-only">
            Message
          </label>
          <div class="compose-row">
            <textarea
              id="turn-input"
              ref={box}
              rows={2}
              value={input}
              disabled={archived}
              // a touch screen's keyboard has no Ctrl; the shorter text fits the box's one line on a phone
              placeholder={touchScreen() ? 'Message the agent' : 'Message the agent (Ctrl+Enter sends)'}
              onInput={(e) => type(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) send(e)
              }}
            />
            <button type="submit" disabled={archived || !input.trim()}>
              Send
            </button>
          </div>
          <div class="actions">
            <button
              type="button"
              class="secondary"
              disabled={!busy}
              onClick={() =>
                act('interrupt', () => call(client.api.POST('/v1/sessions/{id}/interrupt', path)))
              }
            >
              Interrupt
            </button>
            <label class="busy-choice">
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
          </div>
          {turnSchema && (
            <SchemaField
              id="turn-schema"
              scope="this turn's"
              value={schema}
              error={schemaProblem}
              onInput={(text) => {
                setSchema(text)
                setSchemaProblem(null)
              }}
            />
          )}
        </form>
      </section>
    </section>
  )
}

/** A completed turn's final answer given as JSON (a turn with an output schema), indented under its events. */
function TurnAnswer({ turn }: { turn: Schemas['Turn'] }) {
  const answer = turn.status === 'completed' ? structuredAnswer(turn.finalResponse) : undefined
  return answer === undefined ? null : <StructuredAnswer value={answer} />
}

/**
 * Where a fork's own turns begin: "Forked from <parent> at turn N" (or "during turn N", when the parent was running
 * it), with a link to the parent, after the turns it holds from it (or, while they load or when they cannot be
 * read, instead of them, with a way to read them again).
 */
function ForkPoint({ history }: { history: ForkHistory }) {
  const { parent, atTurn, cut, state, error, olderIn, retry } = history
  const link = (id: string) => <a href={href('sessions', id)}>{id}</a>
  return (
    <li class="fork-point" data-testid="fork-point" data-state={state}>
      Forked from {link(parent)}
      {state === 'loading' && ': reading the history it holds…'}
      {state === 'error' && (
        <>
          <span class="error-text" role="alert">
            : the history it holds could not be read. {error}
          </span>{' '}
          <button type="button" class="secondary" onClick={retry}>
            Read it again
          </button>
        </>
      )}
      {state === 'done' &&
        (olderIn === parent ? (
          ': the history it holds is in that session.'
        ) : (
          <>
            {atTurn !== undefined && (cut ? ` during turn ${atTurn}` : ` at turn ${atTurn}`)}
            {cut && ', which it holds up to there'}: the turns after this are the fork's own.
            {olderIn && <> The turns before those above are in {link(olderIn)}.</>}
          </>
        ))}
    </li>
  )
}
