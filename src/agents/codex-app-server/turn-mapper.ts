import type { AgentEvent, SessionStatusEvent } from '../../protocol/events.js'
import { itemChange } from '../../protocol/item-delta.js'
import type { Item } from '../../protocol/items.js'
import type { Usage } from '../../protocol/outcome.js'
import { mapThreadItem } from './item-mapping.js'
import { safeRead } from './wire-read.js'
import {
  deltaNotification,
  errorNotification,
  itemNotification,
  planUpdated,
  statusChanged,
  type TokenBreakdown,
  tokenUsageUpdated,
  turnNotification,
} from './wire-schemas.js'

type SessionStatus = SessionStatusEvent['status']
type TodoList = Extract<Item, { type: 'todo_list' }>

/** Notifications whose `delta` extends the text of an item. */
const deltaMethods = new Set([
  'item/agentMessage/delta',
  'item/reasoning/summaryTextDelta',
  'item/reasoning/textDelta',
  'item/commandExecution/outputDelta',
  'item/plan/delta',
])

/**
 * Maps the app-server notifications of ONE turn of a thread to normalized events (pure: no I/O, so it is unit
 * tested with recorded notifications). The caller routes the thread's notifications here after `begin(turnId)`;
 * whatever is not understood, or belongs to another turn, comes out as `agent.raw`. `done` turns true with the
 * turn's last event (`turn.completed` or `turn.failed`).
 */
export class TurnEventMapper {
  done = false
  private turnId: string | undefined
  private lastStatus: SessionStatus | undefined
  private firstUsage: { total: TokenBreakdown; last: TokenBreakdown } | undefined
  private lastTotal: TokenBreakdown | undefined
  private readonly items = new Map<string, Item>()
  private plan: TodoList | undefined
  private errors = 0

  constructor(private readonly agent = 'codex') {}

  /** The turn's id is known: yields its first event. */
  begin(turnId: string): AgentEvent[] {
    this.turnId = turnId
    return [{ type: 'turn.started', turnId }]
  }

  /** The latest state of an item of this turn (a file-change approval names only the item). */
  item(id: string): Item | undefined {
    return this.items.get(id)
  }

  /** Tokens of this turn so far: the thread's total now minus its total before the turn's first request. */
  usage(): Usage | null {
    if (!this.firstUsage || !this.lastTotal) return null
    const { total, last } = this.firstUsage
    const diff = (key: keyof Usage) =>
      Math.max(0, Math.round(this.lastTotal![key] - (total[key] - last[key])))
    return {
      inputTokens: diff('inputTokens'),
      cachedInputTokens: diff('cachedInputTokens'),
      outputTokens: diff('outputTokens'),
      reasoningOutputTokens: diff('reasoningOutputTokens'),
    }
  }

  map(method: string, params: unknown): AgentEvent[] {
    if (this.done) return [this.raw(method, params)]
    if (method === 'turn/started') return this.turnStarted(method, params)
    if (method === 'turn/completed') return this.turnCompleted(method, params)
    if (method === 'thread/status/changed') return this.statusChanged(method, params)
    if (method === 'item/started' || method === 'item/completed') return this.itemEvent(method, params)
    if (deltaMethods.has(method)) return this.delta(method, params)
    if (method === 'thread/tokenUsage/updated') return this.tokenUsage(method, params)
    if (method === 'turn/plan/updated') return this.planUpdated(method, params)
    if (method === 'error') return this.error(method, params)
    return [this.raw(method, params)]
  }

  private turnStarted(method: string, params: unknown): AgentEvent[] {
    const p = safeRead(turnNotification, params)
    // announced by begin() already
    return p.success && p.data.turn.id === this.turnId ? [] : [this.raw(method, params)]
  }

  private turnCompleted(method: string, params: unknown): AgentEvent[] {
    const p = safeRead(turnNotification, params)
    if (p.success && p.data.turn.id !== this.turnId) return [this.raw(method, params)]
    this.done = true
    const turnId = this.turnId
    const ids = turnId ? { turnId } : {}
    if (!p.success)
      return [
        this.raw(method, params),
        {
          type: 'turn.failed',
          ...ids,
          error: 'codex app-server sent a turn/completed the gateway cannot read',
        },
      ]
    const events: AgentEvent[] = []
    if (this.plan) events.push({ type: 'item.completed', item: this.plan })
    const { status, error } = p.data.turn
    if (status === 'failed')
      events.push({ type: 'turn.failed', ...ids, error: error?.message ?? 'the turn failed' })
    else
      events.push({
        type: 'turn.completed',
        ...ids,
        status: status === 'interrupted' ? 'interrupted' : 'completed',
        usage: this.usage(),
      })
    return events
  }

  private statusChanged(method: string, params: unknown): AgentEvent[] {
    const p = safeRead(statusChanged, params)
    if (!p.success) return [this.raw(method, params)]
    const { type, activeFlags = [] } = p.data.status
    const status: SessionStatus | undefined =
      type === 'idle'
        ? 'idle'
        : type === 'active'
          ? activeFlags.includes('waitingOnApproval')
            ? 'waiting_for_approval'
            : 'running'
          : undefined
    if (!status) return [this.raw(method, params)]
    if (status === this.lastStatus) return []
    this.lastStatus = status
    return [{ type: 'session.status', status }]
  }

  private itemEvent(method: 'item/started' | 'item/completed', params: unknown): AgentEvent[] {
    const p = safeRead(itemNotification, params)
    if (!p.success || p.data.turnId !== this.turnId) return [this.raw(method, params)]
    const item = mapThreadItem(p.data.item)
    if (!item) return [this.raw(method, params)]
    this.items.set(item.id, item)
    return [{ type: method === 'item/started' ? 'item.started' : 'item.completed', item }]
  }

  private delta(method: string, params: unknown): AgentEvent[] {
    const p = safeRead(deltaNotification, params)
    if (!p.success || p.data.turnId !== this.turnId) return [this.raw(method, params)]
    return [{ type: 'item.delta', itemId: p.data.itemId, delta: p.data.delta }]
  }

  private tokenUsage(method: string, params: unknown): AgentEvent[] {
    const p = safeRead(tokenUsageUpdated, params)
    if (!p.success || p.data.turnId !== this.turnId) return [this.raw(method, params)]
    this.firstUsage ??= p.data.tokenUsage
    this.lastTotal = p.data.tokenUsage.total
    return []
  }

  private planUpdated(method: string, params: unknown): AgentEvent[] {
    const p = safeRead(planUpdated, params)
    if (!p.success || p.data.turnId !== this.turnId) return [this.raw(method, params)]
    const before = this.plan
    const plan: TodoList = {
      id: `${this.turnId}:plan`,
      type: 'todo_list',
      items: p.data.plan.map((s) => ({ text: s.step, completed: s.status === 'completed' })),
    }
    // codex repeats its plan with every update_plan call: only a change of the item is sent (the rule ACP tool
    // calls follow), a plan that says what the last one said sends nothing
    if (before && itemChange(before, plan).kind === 'none') return []
    this.plan = plan
    return [{ type: before ? 'item.updated' : 'item.started', item: plan }]
  }

  private error(method: string, params: unknown): AgentEvent[] {
    const p = safeRead(errorNotification, params)
    if (!p.success || p.data.turnId !== this.turnId) return [this.raw(method, params)]
    this.errors += 1
    const { message } = p.data.error
    return [
      {
        type: 'item.completed',
        item: {
          id: `${this.turnId}:error:${this.errors}`,
          type: 'error',
          message: p.data.willRetry ? `${message} (codex retries)` : message,
        },
      },
    ]
  }

  private raw(method: string, params: unknown): AgentEvent {
    return { type: 'agent.raw', agent: this.agent, payload: { method, params } }
  }
}
