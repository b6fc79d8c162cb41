import { z } from 'zod'

/** Items are the units of work an agent reports inside a turn; the same shapes for every agent. */

const itemBase = { id: z.string() }
const status = z.enum(['in_progress', 'completed', 'failed', 'declined'])

/** A message the agent wrote for the user. */
export const agentMessageItem = z.object({ ...itemBase, type: z.literal('agent_message'), text: z.string() })
/** A summary of the agent's reasoning. */
export const reasoningItem = z.object({ ...itemBase, type: z.literal('reasoning'), text: z.string() })
/** A shell command the agent ran, with its aggregated output. */
export const commandExecutionItem = z.object({
  ...itemBase,
  type: z.literal('command_execution'),
  command: z.string(),
  aggregatedOutput: z.string(),
  exitCode: z.number().int().nullable(),
  status,
})
/** Files the agent added, deleted or updated. */
export const fileChangeItem = z.object({
  ...itemBase,
  type: z.literal('file_change'),
  changes: z.array(
    z.object({
      path: z.string(),
      kind: z.enum(['add', 'delete', 'update']),
      /** The change as a unified diff, when the agent reports one. */
      diff: z.string().optional(),
    }),
  ),
  status,
})
/** A call of an MCP or agent-specific tool. */
export const toolCallItem = z.object({
  ...itemBase,
  type: z.literal('tool_call'),
  server: z.string().optional(),
  tool: z.string(),
  arguments: z.unknown().optional(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  status,
})
/** A web search the agent made. */
export const webSearchItem = z.object({ ...itemBase, type: z.literal('web_search'), query: z.string() })
/** The agent's plan, as a checklist. */
export const todoListItem = z.object({
  ...itemBase,
  type: z.literal('todo_list'),
  items: z.array(z.object({ text: z.string(), completed: z.boolean() })),
})
/** A non-fatal error the agent reported. */
export const errorItem = z.object({ ...itemBase, type: z.literal('error'), message: z.string() })

export const item = z.discriminatedUnion('type', [
  agentMessageItem,
  reasoningItem,
  commandExecutionItem,
  fileChangeItem,
  toolCallItem,
  webSearchItem,
  todoListItem,
  errorItem,
])
export type Item = z.infer<typeof item>
export type ItemType = Item['type']
