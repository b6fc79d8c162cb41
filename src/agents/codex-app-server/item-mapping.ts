import { z } from 'zod'
import type { Item } from '../../protocol/items.js'
import { changeDiff } from './change-diff.js'
import { safeRead } from './wire-read.js'

/**
 * codex app-server thread items (v2 `ThreadItem`) -> the gateway's item schemas. Each kind is parsed with zod;
 * a kind we do not map (userMessage, hookPrompt, imageView, ...) or a malformed item gives null, and the caller
 * keeps it as `agent.raw`.
 */

const itemStatus = z.enum(['inProgress', 'completed', 'failed', 'declined'])
type ItemStatus = z.infer<typeof itemStatus>

const statusNames = {
  inProgress: 'in_progress',
  completed: 'completed',
  failed: 'failed',
  declined: 'declined',
} as const satisfies Record<ItemStatus, string>

const agentMessage = z.looseObject({ type: z.literal('agentMessage'), id: z.string(), text: z.string() })
const reasoning = z.looseObject({
  type: z.literal('reasoning'),
  id: z.string(),
  summary: z.array(z.string()).default([]),
  content: z.array(z.string()).default([]),
})
const commandExecution = z.looseObject({
  type: z.literal('commandExecution'),
  id: z.string(),
  command: z.string(),
  aggregatedOutput: z.string().nullish(),
  exitCode: z.number().int().nullish(),
  status: itemStatus,
})
const fileChange = z.looseObject({
  type: z.literal('fileChange'),
  id: z.string(),
  changes: z.array(
    z.looseObject({
      path: z.string(),
      kind: z.looseObject({ type: z.enum(['add', 'delete', 'update']) }),
      diff: z.string().optional(),
    }),
  ),
  status: itemStatus,
})
const mcpToolCall = z.looseObject({
  type: z.literal('mcpToolCall'),
  id: z.string(),
  server: z.string(),
  tool: z.string(),
  status: itemStatus,
  arguments: z.unknown(),
  result: z.unknown(),
  error: z.looseObject({ message: z.string() }).nullish(),
})
const dynamicToolCall = z.looseObject({
  type: z.literal('dynamicToolCall'),
  id: z.string(),
  namespace: z.string().nullish(),
  tool: z.string(),
  status: itemStatus,
  arguments: z.unknown(),
  contentItems: z.unknown(),
  success: z.boolean().nullish(),
})
const webSearch = z.looseObject({ type: z.literal('webSearch'), id: z.string(), query: z.string() })
const plan = z.looseObject({ type: z.literal('plan'), id: z.string(), text: z.string() })

export const threadItem = z.discriminatedUnion('type', [
  agentMessage,
  reasoning,
  commandExecution,
  fileChange,
  mcpToolCall,
  dynamicToolCall,
  webSearch,
  plan,
])

/** The kinds mapped: any other (the user's own message, two per turn) is kept raw without zod's failed parse. */
const mappedKinds = new Set<unknown>(threadItem.options.map((option) => option.shape.type.value))

/** The mapped item, or null when the item is of a kind we keep raw (or does not parse). */
export function mapThreadItem(raw: unknown): Item | null {
  if (!mappedKinds.has((raw as { type?: unknown } | null | undefined)?.type)) return null
  const parsed = safeRead(threadItem, raw)
  if (!parsed.success) return null
  const item = parsed.data
  switch (item.type) {
    case 'agentMessage':
      return { id: item.id, type: 'agent_message', text: item.text }
    case 'reasoning':
      return {
        id: item.id,
        type: 'reasoning',
        text: (item.summary.length > 0 ? item.summary : item.content).join('\n'),
      }
    case 'commandExecution':
      return {
        id: item.id,
        type: 'command_execution',
        command: item.command,
        aggregatedOutput: item.aggregatedOutput ?? '',
        exitCode: item.exitCode ?? null,
        status: statusNames[item.status],
      }
    case 'fileChange':
      return {
        id: item.id,
        type: 'file_change',
        changes: item.changes.map((c) => {
          const diff = changeDiff(c.kind.type, c.diff)
          return { path: c.path, kind: c.kind.type, ...(diff ? { diff } : {}) }
        }),
        status: statusNames[item.status],
      }
    case 'mcpToolCall':
      return {
        id: item.id,
        type: 'tool_call',
        server: item.server,
        tool: item.tool,
        ...(item.arguments !== undefined ? { arguments: item.arguments } : {}),
        ...(item.result !== undefined && item.result !== null ? { result: item.result } : {}),
        ...(item.error ? { error: item.error.message } : {}),
        status: statusNames[item.status],
      }
    case 'dynamicToolCall':
      return {
        id: item.id,
        type: 'tool_call',
        ...(item.namespace ? { server: item.namespace } : {}),
        tool: item.tool,
        ...(item.arguments !== undefined ? { arguments: item.arguments } : {}),
        ...(item.contentItems !== undefined && item.contentItems !== null
          ? { result: item.contentItems }
          : {}),
        ...(item.success === false ? { error: 'the tool reported failure' } : {}),
        status: statusNames[item.status],
      }
    case 'webSearch':
      return { id: item.id, type: 'web_search', query: item.query }
    case 'plan':
      return { id: item.id, type: 'todo_list', items: planSteps(item.text) }
  }
}

/** A plan item's markdown as a checklist: one entry per non-empty line, `[x]` marks done. */
function planSteps(text: string): { text: string; completed: boolean }[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const m = /^(?:[-*]|\d+\.)?\s*\[( |x|X)\]\s*(.*)$/.exec(line)
      if (m) return { text: m[2]!, completed: m[1] !== ' ' }
      return { text: line.replace(/^(?:[-*]|\d+\.)\s+/, ''), completed: false }
    })
}
