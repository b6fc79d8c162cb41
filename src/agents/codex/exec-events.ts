import { z } from 'zod'
import type { AgentEvent } from '../../protocol/events.js'
import { itemChange } from '../../protocol/item-delta.js'
import type { Item } from '../../protocol/items.js'
import type { Usage } from '../../protocol/outcome.js'
import { mapParsedLines } from '../json-lines.js'
import { type LineMapper, mapperOutcome, outcomeReaders } from '../process-run.js'

/** The JSONL that `codex exec --json` prints, parsed at the boundary (never cast). */
const codexUsage = z.object({
  input_tokens: z.number().default(0),
  cached_input_tokens: z.number().default(0),
  output_tokens: z.number().default(0),
  reasoning_output_tokens: z.number().default(0),
})
const status = z.enum(['in_progress', 'completed', 'failed', 'declined']).catch('completed')
const codexItem = z.discriminatedUnion('type', [
  z.object({ id: z.string(), type: z.literal('agent_message'), text: z.string() }),
  z.object({ id: z.string(), type: z.literal('reasoning'), text: z.string() }),
  z.object({
    id: z.string(),
    type: z.literal('command_execution'),
    command: z.string(),
    aggregated_output: z.string().default(''),
    exit_code: z.number().int().nullable().default(null),
    status,
  }),
  z.object({
    id: z.string(),
    type: z.literal('file_change'),
    changes: z.array(
      z.object({ path: z.string(), kind: z.enum(['add', 'delete', 'update']).catch('update') }),
    ),
    status,
  }),
  z.object({
    id: z.string(),
    type: z.literal('mcp_tool_call'),
    server: z.string(),
    tool: z.string(),
    arguments: z.unknown().optional(),
    result: z.unknown().optional(),
    error: z.object({ message: z.string() }).nullish(),
    status,
  }),
  z.object({ id: z.string(), type: z.literal('web_search'), query: z.string() }),
  z.object({
    id: z.string(),
    type: z.literal('todo_list'),
    items: z.array(z.object({ text: z.string(), completed: z.boolean() })),
  }),
  z.object({ id: z.string(), type: z.literal('error'), message: z.string() }),
])
export const codexExecEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('thread.started'), thread_id: z.string() }),
  z.object({ type: z.literal('turn.started') }),
  z.object({ type: z.literal('turn.completed'), usage: codexUsage.nullish() }),
  z.object({ type: z.literal('turn.failed'), error: z.object({ message: z.string() }) }),
  z.object({ type: z.enum(['item.started', 'item.updated', 'item.completed']), item: z.unknown() }),
  z.object({ type: z.literal('error'), message: z.string() }),
])
export type CodexExecEvent = z.infer<typeof codexExecEvent>

export function toUsage(u: z.infer<typeof codexUsage>): Usage {
  return {
    inputTokens: u.input_tokens,
    cachedInputTokens: u.cached_input_tokens,
    outputTokens: u.output_tokens,
    reasoningOutputTokens: u.reasoning_output_tokens,
  }
}

export function toItem(raw: unknown): Item | null {
  const parsed = codexItem.safeParse(raw)
  if (!parsed.success) return null
  const it = parsed.data
  switch (it.type) {
    case 'command_execution':
      return {
        id: it.id,
        type: 'command_execution',
        command: it.command,
        aggregatedOutput: it.aggregated_output,
        exitCode: it.exit_code,
        status: it.status,
      }
    case 'mcp_tool_call':
      return {
        id: it.id,
        type: 'tool_call',
        server: it.server,
        tool: it.tool,
        arguments: it.arguments,
        result: it.result,
        ...(it.error ? { error: it.error.message } : {}),
        status: it.status,
      }
    default:
      return it
  }
}

/** Maps codex exec JSONL lines to normalized events; unknown or malformed lines become `agent.raw`. */
export function createCodexExecMapper(agent = 'codex'): LineMapper & { threadId(): string | null } {
  const out = mapperOutcome()
  let threadId: string | null = null
  let errors = 0
  /** The state last sent of each open item: an update that changes nothing of it is not sent (itemChange). */
  const sent = new Map<string, Item>()
  const raw = (payload: unknown): AgentEvent[] => [{ type: 'agent.raw', agent, payload }]

  return {
    map: mapParsedLines(codexExecEvent, agent, (ev, json) => {
      switch (ev.type) {
        case 'thread.started':
          threadId = ev.thread_id
          return [{ type: 'agent.session', agent, agentSessionId: ev.thread_id }]
        case 'turn.started':
          return [{ type: 'turn.started' }]
        case 'turn.completed':
          out.usage = ev.usage ? toUsage(ev.usage) : null
          return [{ type: 'turn.completed', usage: out.usage }]
        case 'turn.failed':
          out.failure = ev.error.message
          return [{ type: 'turn.failed', error: ev.error.message }]
        case 'error':
          out.lastError = ev.message
          return [
            {
              type: 'item.completed',
              item: { id: `error_${++errors}`, type: 'error', message: ev.message },
            },
          ]
        default: {
          const item = toItem(ev.item)
          if (!item) return raw(json)
          if (ev.type === 'item.completed' && item.type === 'agent_message') out.finalResponse = item.text
          // codex re-sends its whole plan (a todo_list item.updated) with every update_plan call, changed or not
          const before = sent.get(item.id)
          if (ev.type === 'item.completed') sent.delete(item.id)
          else sent.set(item.id, item)
          if (ev.type === 'item.updated' && before && itemChange(before, item).kind === 'none') return []
          return [{ type: ev.type, item }]
        }
      }
    }),
    ...outcomeReaders(out),
    threadId: () => threadId,
  }
}
