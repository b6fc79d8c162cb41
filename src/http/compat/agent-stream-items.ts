import type { Item } from '../../protocol/items.js'

/** An OpenAI Responses-API style item, as seed 004's `item` frames carry them. */
export type ResponseItem = Record<string, unknown> & { type: string }

/**
 * The Responses-style items of one completed normalized item: agent messages become `message` items with
 * `output_text`, reasoning `reasoning`, commands `local_shell_call` + `function_call_output`, file changes and
 * tool calls `function_call` + `function_call_output`. Web searches, plans and errors have no Responses
 * counterpart the original sent; plans and errors go out as `reasoning` / assistant text so nothing is lost.
 */
export function responseItems(item: Item): ResponseItem[] {
  switch (item.type) {
    case 'agent_message':
      return [message(item.id, item.text)]
    case 'reasoning':
      return [reasoning(item.id, item.text)]
    case 'command_execution':
      return [
        {
          type: 'local_shell_call',
          id: item.id,
          call_id: item.id,
          status: item.status === 'in_progress' ? 'in_progress' : 'completed',
          action: { type: 'exec', command: ['bash', '-lc', item.command], env: {} },
        },
        output(item.id, item.aggregatedOutput, { exit_code: item.exitCode, status: item.status }),
      ]
    case 'file_change':
      return [
        call(item.id, 'apply_patch', { changes: item.changes }),
        output(item.id, item.status === 'completed' ? 'Done!' : item.status, { status: item.status }),
      ]
    case 'tool_call':
      return [
        call(item.id, item.server ? `${item.server}.${item.tool}` : item.tool, item.arguments ?? {}),
        output(item.id, item.error ?? JSON.stringify(item.result ?? null), { status: item.status }),
      ]
    case 'web_search':
      return [call(item.id, 'web_search', { query: item.query })]
    case 'todo_list':
      return [
        reasoning(item.id, item.items.map((t) => `${t.completed ? '[x]' : '[ ]'} ${t.text}`).join('\n')),
      ]
    case 'error':
      return [message(item.id, item.message)]
  }
}

const message = (id: string, text: string): ResponseItem => ({
  type: 'message',
  id,
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text, annotations: [] }],
})

const reasoning = (id: string, text: string): ResponseItem => ({
  type: 'reasoning',
  id,
  summary: [{ type: 'summary_text', text }],
})

const call = (id: string, name: string, args: unknown): ResponseItem => ({
  type: 'function_call',
  id,
  call_id: id,
  name,
  arguments: JSON.stringify(args),
  status: 'completed',
})

const output = (callId: string, text: string, metadata: Record<string, unknown>): ResponseItem => ({
  type: 'function_call_output',
  call_id: callId,
  output: JSON.stringify({ output: text, metadata }),
})
