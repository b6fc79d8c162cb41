import type { StoredEvent } from '../../../src/protocol/events.js'
import type { Item } from '../../../src/protocol/items.js'
import { pendingApprovals } from '../pending.js'
import { inputText } from '../turn-input.js'
import { FileChanges } from './file-changes.js'
import { type Block, foldEvents } from './fold-events.js'
import { Markdown } from './markdown.js'
import { OutputTail } from './output-tail.js'

/**
 * Where an approval still waiting is answered: in the inbox (a run's view, a turn a fork holds from its parent),
 * or `below`, in the bar at the screen's bottom of the session it belongs to (its answers are there: a link away
 * to the inbox, the cross-session view, read as if they were not).
 */
export type AnswerWhere = 'inbox' | 'below'

/**
 * The events of a run or a session, rendered by kind. `aborted`: items a fork holds as aborted (running when its
 * parent was forked: fork-cut.ts), shown so instead of in progress. `answers`: where an approval waiting is
 * answered (the inbox unless told).
 */
export function EventList({
  events,
  aborted,
  answers = 'inbox',
}: {
  events: StoredEvent[]
  aborted?: ReadonlySet<string>
  answers?: AnswerWhere
}) {
  return (
    <ol class="events" aria-label="Events">
      {foldEvents(events)
        .filter(shown)
        .map((b) => (
          <li key={b.seq} class={`block ${blockClass(b)}`} data-seq={b.seq}>
            {b.kind === 'item' ? (
              <ItemView item={b.item} final={b.final} aborted={aborted?.has(b.item.id) ?? false} />
            ) : b.kind === 'output' ? (
              <>
                <Badge type={`output.${b.stream}`} />
                <OutputTail text={b.text} />
              </>
            ) : b.kind === 'raw' ? (
              <RawGroup events={b.events} />
            ) : (
              <EventView event={b.event} answers={answers} />
            )}
          </li>
        ))}
    </ol>
  )
}

/** Every event as it came, one line each, colour-coded by type (what seed 002's page showed). */
export function RawEvents({ events }: { events: StoredEvent[] }) {
  return (
    <ol class="raw-events" aria-label="Raw events">
      {events.map((ev) => (
        <li key={ev.seq} data-raw-seq={ev.seq}>
          <span class="seq">{ev.seq}</span> <Badge type={ev.type} />{' '}
          <code>{JSON.stringify(withoutMeta(ev))}</code>
        </li>
      ))}
    </ol>
  )
}

function withoutMeta(ev: StoredEvent) {
  const { seq: _s, at: _a, runId: _r, sessionId: _i, type: _t, ...rest } = ev
  return rest
}

/** A message with no text yet is not shown: an empty box stayed where a turn was interrupted before any. */
const shown = (b: Block) => !(b.kind === 'item' && b.item.type === 'agent_message' && b.item.text === '')

const blockClass = (b: Block) =>
  b.kind === 'item'
    ? `item-${b.item.type}`
    : b.kind === 'output'
      ? 'output'
      : b.kind === 'raw'
        ? 'raw-group'
        : `ev-${b.event.type.replace('.', '-')}`

export function Badge({ type }: { type: string }) {
  return <span class={`badge t-${type.split('.')[0]}`}>{type}</span>
}

function ItemView({ item, final, aborted }: { item: Item; final: boolean; aborted: boolean }) {
  const status = aborted ? 'aborted' : 'status' in item ? item.status : undefined
  switch (item.type) {
    case 'agent_message':
      return (
        <div class="message" data-testid="agent-message">
          <Markdown text={item.text} />
        </div>
      )
    case 'reasoning':
      return (
        <details class="reasoning">
          <summary>Reasoning</summary>
          <Markdown text={item.text} />
        </details>
      )
    case 'command_execution':
      return (
        <div class="command" data-testid="command">
          <div class="command-head">
            <Badge type="command" />
            <code class="cmd">$ {item.command}</code>
            <span class={`status s-${status}`}>
              {status}
              {item.exitCode !== null && ` · exit ${item.exitCode}`}
            </span>
          </div>
          {item.aggregatedOutput && <OutputTail text={item.aggregatedOutput} />}
        </div>
      )
    case 'file_change':
      return (
        <div class="file-change" data-testid="file-change">
          <Badge type="file_change" /> <span class={`status s-${status}`}>{status}</span>
          <FileChanges changes={item.changes} />
        </div>
      )
    case 'tool_call':
      return (
        <details class="tool-call" open={!final}>
          <summary>
            <Badge type="tool_call" /> {item.server ? `${item.server}.` : ''}
            {item.tool} <span class={`status s-${status}`}>{status}</span>
          </summary>
          {item.arguments !== undefined && <pre>{JSON.stringify(item.arguments, null, 2)}</pre>}
          {item.result !== undefined && <pre>{JSON.stringify(item.result, null, 2)}</pre>}
          {item.error && <p class="error-text">{item.error}</p>}
        </details>
      )
    case 'web_search':
      return (
        <p>
          <Badge type="web_search" /> {item.query}
        </p>
      )
    case 'todo_list':
      return (
        <ul class="todo">
          {item.items.map((t) => (
            <li key={t.text}>
              <input type="checkbox" checked={t.completed} disabled aria-label={t.text} /> {t.text}
            </li>
          ))}
        </ul>
      )
    case 'error':
      return (
        <p class="error-text" role="alert">
          <Badge type="error" /> {item.message}
        </p>
      )
  }
}

/**
 * A run of consecutive `agent.raw` events as one closed row ("3 raw events"): what the gateway did not map stays
 * reachable without burying the conversation. Opened, each shows its agent and payload.
 */
function RawGroup({ events }: { events: Extract<StoredEvent, { type: 'agent.raw' }>[] }) {
  const agents = [...new Set(events.map((ev) => ev.agent))].join(', ')
  return (
    <details class="raw-group" data-raw-count={events.length}>
      <summary>
        <Badge type="agent.raw" /> {events.length === 1 ? '1 raw event' : `${events.length} raw events`} from{' '}
        {agents}
      </summary>
      <ol class="raw-list">
        {events.map((ev) => (
          <li key={ev.seq} data-seq={ev.seq}>
            <span class="seq">{ev.seq}</span> <pre>{JSON.stringify(ev.payload, null, 2)}</pre>
          </li>
        ))}
      </ol>
    </details>
  )
}

function EventView({ event, answers }: { event: StoredEvent; answers: AnswerWhere }) {
  switch (event.type) {
    case 'run.completed':
      return (
        <p>
          <Badge type={event.type} /> <strong class={`status s-${event.status}`}>{event.status}</strong>
          {event.exitCode !== null && ` · exit ${event.exitCode}`}
          {event.reason && ` · ${event.reason}`}
          {event.error && <span class="error-text"> · {event.error}</span>}
        </p>
      )
    case 'turn.steered':
      // what the user added while the turn ran: shown as what they said, where they said it
      return (
        <div class="user-input" data-testid="steered-input">
          <span class="quiet">
            <Badge type={event.type} /> added while the turn ran
          </span>
          <p>{inputText(event.input)}</p>
        </div>
      )
    case 'turn.failed':
      return (
        <p class="error-text">
          <Badge type={event.type} /> {event.error}
        </p>
      )
    case 'approval.requested':
      return (
        <p>
          <Badge type={event.type} /> {event.kind}:{' '}
          <code>{event.command ?? event.changes?.map((c) => c.path).join(', ')}</code>
          {/* only while it waits: once answered, there is nothing of it to answer */}
          {pendingApprovals.value.some((a) => a.id === event.approvalId) &&
            (answers === 'below' ? (
              <span class="quiet" data-testid="answer-below">
                {' '}
                · waiting for your answer, below <span aria-hidden="true">↓</span>
              </span>
            ) : (
              <>
                {' '}
                <a href={`#/approvals`}>answer in the inbox</a>
              </>
            ))}
        </p>
      )
    case 'approval.resolved':
      return (
        <p>
          <Badge type={event.type} /> {event.decision} by {event.by}
        </p>
      )
    default:
      return (
        <p class="quiet">
          <Badge type={event.type} /> {summary(event)}
        </p>
      )
  }
}

function summary(event: StoredEvent): string {
  switch (event.type) {
    case 'run.started':
      return `${event.agent}${event.pid ? ` · pid ${event.pid}` : ''}`
    case 'turn.started':
      // session turns say the approval policy they run with (null: the agent's default)
      return event.approvalPolicy === undefined ? '' : `approvals: ${event.approvalPolicy ?? 'default'}`
    case 'turn.completed':
      return `${event.status ?? 'completed'}${event.usage ? ` · ${event.usage.inputTokens}→${event.usage.outputTokens} tokens` : ''}${event.error ? ` · ${event.error}` : ''}`
    case 'session.status':
      return `${event.status}${event.agentArchiveError ? ` · the agent's own record not archived: ${event.agentArchiveError}` : ''}`
    case 'agent.session':
      return event.agentSessionId
    case 'turn.steer_refused':
      // shown in the turn the input became (session view)
      return 'sent to steer the running turn, which had just ended: it became this turn'
    case 'turn.steer_failed':
      return `a steer did not reach the agent (${event.error}): withdrawn, its input is in no turn`
    default:
      return ''
  }
}
