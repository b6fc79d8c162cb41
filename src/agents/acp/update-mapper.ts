import type { AgentEvent } from '../../protocol/events.js'
import { itemChange, itemChangeAppended } from '../../protocol/item-delta.js'
import type { Item } from '../../protocol/items.js'
import { appendedOutput } from './command-output.js'
import { ended, mergeToolCall, statusAtTurnEnd, type ToolCallState, toolItem } from './tool-items.js'
import { type SessionUpdate, sessionUpdate, type ToolCallFields } from './wire.js'

type TextKind = 'agent_message' | 'reasoning'

/**
 * Maps the `session/update` notifications of one ACP prompt turn to normalized events. Message and thought
 * chunks become an item (started, deltas, completed when something else happens or the turn ends); tool
 * calls become command_execution / file_change / tool_call items; a plan becomes a todo_list item. Anything
 * else (or anything that does not parse) is kept as `agent.raw`.
 */
export class UpdateMapper {
  private seq = 0
  private open: { kind: TextKind; id: string; text: string } | undefined
  private readonly tools = new Map<string, ToolCallState>()
  private readonly finished = new Set<string>()
  /** Each open tool call's item as last sent (started or updated): what the next update is compared with. */
  private readonly sent = new Map<string, Item>()
  private plan: Item | undefined
  private lastMessage: string | null = null

  constructor(
    private readonly agent: string,
    /** Makes item ids unique within the session (e.g. the turn id). */
    private readonly idPrefix: string,
    /**
     * Tool calls of the session's earlier turns: an update of one arriving now (its command outlived its turn,
     * whose item already ended) is kept as `agent.raw`, not made an item of this turn that never ends.
     */
    private readonly earlier: (toolCallId: string) => boolean = () => false,
  ) {}

  /** The ids of this turn's tool calls. */
  toolCallIds(): string[] {
    return [...this.tools.keys()]
  }

  /** The text of the turn's last agent message. */
  finalResponse(): string | null {
    return this.open?.kind === 'agent_message' ? this.open.text : this.lastMessage
  }

  map(update: unknown): AgentEvent[] {
    const parsed = sessionUpdate.safeParse(update)
    if (!parsed.success) return [this.raw(update)]
    return this.mapParsed(parsed.data, update)
  }

  /** A tool call the agent asks permission for (the request carries it): its item starts now. */
  toolCallAsked(fields: ToolCallFields): AgentEvent[] {
    return this.tool(fields)
  }

  /** The approval hook declined the tool call: its item ends `declined` unless the agent ran it anyway. */
  declined(toolCallId: string): void {
    const t = this.tools.get(toolCallId)
    if (t) t.declined = true
  }

  toolCall(toolCallId: string): ToolCallState | undefined {
    return this.tools.get(toolCallId)
  }

  /** Whether a tool call has started but not reported its end yet. */
  get hasOpenTools(): boolean {
    for (const id of this.tools.keys()) if (!this.finished.has(id)) return true
    return false
  }

  /**
   * Closes whatever is still open when the turn ends: a tool call whose end the agent did not report is
   * completed with what it gathered (see statusAtTurnEnd), never dropped.
   */
  finish(): AgentEvent[] {
    const events = this.closeText()
    for (const t of this.tools.values()) {
      if (this.finished.has(t.id)) continue
      this.finished.add(t.id)
      events.push({ type: 'item.completed', item: toolItem(t, statusAtTurnEnd(t)) })
    }
    if (this.plan) events.push({ type: 'item.completed', item: this.plan })
    this.plan = undefined
    return events
  }

  private mapParsed(u: SessionUpdate, original: unknown): AgentEvent[] {
    switch (u.sessionUpdate) {
      case 'agent_message_chunk':
      case 'agent_thought_chunk': {
        if (u.content.type !== 'text' || !('text' in u.content) || typeof u.content.text !== 'string')
          return [this.raw(original)]
        return this.chunk(
          u.sessionUpdate === 'agent_message_chunk' ? 'agent_message' : 'reasoning',
          u.content.text,
        )
      }
      case 'tool_call':
      case 'tool_call_update':
        if (!this.tools.has(u.toolCallId) && this.earlier(u.toolCallId)) return [this.raw(original)]
        return [...this.closeText(), ...this.tool(u)]
      case 'plan': {
        const item: Item = {
          id: `${this.idPrefix}-plan`,
          type: 'todo_list',
          items: u.entries.map((e) => ({ text: e.content, completed: e.status === 'completed' })),
        }
        const before = this.plan
        this.plan = item
        if (before && itemChange(before, item).kind === 'none') return this.closeText()
        return [...this.closeText(), { type: before ? 'item.updated' : 'item.started', item }]
      }
      default:
        // user_message_chunk (a replay of the prompt) and whatever we do not map
        return [this.raw(original)]
    }
  }

  private chunk(kind: TextKind, delta: string): AgentEvent[] {
    const events: AgentEvent[] = []
    if (this.open?.kind !== kind) {
      events.push(...this.closeText())
      const id = `${this.idPrefix}-${kind === 'agent_message' ? 'msg' : 'reasoning'}-${++this.seq}`
      this.open = { kind, id, text: '' }
      events.push({ type: 'item.started', item: { id, type: kind, text: '' } })
    }
    const open = this.open!
    open.text += delta
    if (delta) events.push({ type: 'item.delta', itemId: open.id, delta })
    return events
  }

  private closeText(): AgentEvent[] {
    const open = this.open
    if (!open) return []
    this.open = undefined
    if (open.kind === 'agent_message') this.lastMessage = open.text
    return [{ type: 'item.completed', item: { id: open.id, type: open.kind, text: open.text } }]
  }

  private tool(fields: ToolCallFields): AgentEvent[] {
    const prev = this.tools.get(fields.toolCallId)
    const t = mergeToolCall(prev, fields)
    this.tools.set(t.id, t)
    if (this.finished.has(t.id)) return []
    if (ended(t)) {
      this.finished.add(t.id)
      this.sent.delete(t.id)
      return [{ type: 'item.completed', item: toolItem(t) }]
    }
    const item = toolItem(t)
    const before = this.sent.get(t.id)
    this.sent.set(t.id, item)
    if (!before) return [{ type: 'item.started', item }]
    // whole only when more than its output (or text) grew: each ACP update carries the whole tool call so far
    const appended = appendedOutput(prev?.output, t.output, fields._meta?.terminal_output?.data)
    const change =
      appended === undefined ? itemChange(before, item) : itemChangeAppended(before, item, appended)
    if (change.kind === 'none') return []
    if (change.kind === 'delta') return [{ type: 'item.delta', itemId: item.id, delta: change.delta }]
    return [{ type: 'item.updated', item }]
  }

  private raw(payload: unknown): AgentEvent {
    return { type: 'agent.raw', agent: this.agent, payload }
  }
}
