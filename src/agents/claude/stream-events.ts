import type { AgentEvent } from '../../protocol/events.js'
import type { Item } from '../../protocol/items.js'
import type { Usage } from '../../protocol/outcome.js'
import { mapParsedLines } from '../json-lines.js'
import { type LineMapper, mapperOutcome, outcomeReaders } from '../process-run.js'
import type { PermissionPrompts } from './permission-prompts.js'
import {
  type ClaudeLine,
  type ClaudeUsage,
  claudeLine,
  type ToolResultBlock,
  textBlock,
  thinkingBlock,
  toolResultBlock,
  toolUseBlock,
} from './stream-schemas.js'

export function toUsage(u: ClaudeUsage): Usage {
  const cached = u.cache_read_input_tokens ?? 0
  return {
    // Anthropic counts cached input apart; the normalized inputTokens includes it (as OpenAI's does).
    inputTokens: u.input_tokens + cached + (u.cache_creation_input_tokens ?? 0),
    cachedInputTokens: cached,
    outputTokens: u.output_tokens,
    reasoningOutputTokens: u.output_tokens_details?.thinking_tokens ?? 0,
  }
}

function resultText(block: ToolResultBlock): string {
  const content = block.content ?? ''
  return typeof content === 'string' ? content : content.map((part) => part.text ?? '').join('\n')
}

/** Bash results that failed start with "Exit code N" (then the output); other errors have no exit code. */
export function bashOutcome(block: ToolResultBlock): { output: string; exitCode: number | null } {
  const text = resultText(block)
  if (!block.is_error) return { output: text, exitCode: 0 }
  const match = /^Exit code (\d+)\n?/.exec(text)
  return match
    ? { output: text.slice(match[0].length), exitCode: Number(match[1]) }
    : { output: text, exitCode: null }
}

/**
 * Claude Code's words when its permission mode refused a tool nobody was asked about (approval policy `never`):
 * "This command requires approval", "Permission to use Write has been denied because Claude Code is running in
 * don't ask mode" (read-only: dontAsk); in acceptEdits (workspace-write) "Claude requested permissions to use
 * WebFetch, but you haven't granted it yet", "Claude requested permissions to write to <path outside the cwd>, but
 * you haven't granted it yet", a command's "Output redirection to '<path>' needs approval. The path is outside the
 * working directories for this session".
 */
const isDenial = (text: string) =>
  /requires approval|needs approval|permissions? to use|requested permissions? to|was not run/i.test(text)

/** `mcp__<server>__<tool>` names an MCP tool; anything else is a Claude Code tool. */
function toolName(name: string): { server?: string; tool: string } {
  const match = /^mcp__(.+?)__(.+)$/.exec(name)
  return match ? { server: match[1]!, tool: match[2]! } : { tool: name }
}

/**
 * Maps Claude Code stream-json lines to normalized events; unknown or malformed lines become `agent.raw`.
 * - system init -> agent.session (+ turn.started); assistant text -> agent_message, thinking -> reasoning;
 * - tool_use `Bash` + its tool_result -> command_execution (started, completed); other tools -> tool_call;
 * - stream_event text deltas -> item.delta of the text item the assistant line completes later; the other
 *   partial events repeat what the assistant line carries whole, so they map to nothing;
 * - result -> turn.completed (usage, final response) or turn.failed;
 * - control requests (permission questions, with `prompts`) -> answered by `prompts`, no event of their own (the
 *   approval is the core's event); a tool use the client declined or the permission mode refused (a command or
 *   any other tool) completes `declined`.
 */
export function createClaudeMapper(
  agent = 'claude',
  prompts?: PermissionPrompts,
): LineMapper & { sessionId(): string | null } {
  const out = mapperOutcome()
  let lastText: string | null = null
  let sessionId: string | null = null
  let counter = 0
  /** Ids of text blocks announced by content_block_start, completed by the next assistant text blocks. */
  const openTexts: string[] = []
  const tools = new Map<string, Item>()
  const raw = (payload: unknown): AgentEvent[] => [{ type: 'agent.raw', agent, payload }]

  function assistant(line: Extract<ClaudeLine, { type: 'assistant' }>, json: unknown): AgentEvent[] {
    const events: AgentEvent[] = []
    for (const block of line.message.content) {
      const text = textBlock.safeParse(block)
      if (text.success) {
        const id = openTexts.shift() ?? `${line.message.id}_${++counter}`
        if (line.error) {
          out.lastError = text.data.text
          events.push({ type: 'item.completed', item: { id, type: 'error', message: text.data.text } })
        } else {
          lastText = text.data.text
          events.push({ type: 'item.completed', item: { id, type: 'agent_message', text: text.data.text } })
        }
        continue
      }
      const thinking = thinkingBlock.safeParse(block)
      if (thinking.success) {
        const id = `${line.message.id}_${++counter}`
        events.push({ type: 'item.completed', item: { id, type: 'reasoning', text: thinking.data.thinking } })
        continue
      }
      const use = toolUseBlock.safeParse(block)
      if (use.success) {
        const { id, name, input } = use.data
        const command = (input as { command?: unknown } | undefined)?.command
        const item: Item =
          name === 'Bash' && typeof command === 'string'
            ? {
                id,
                type: 'command_execution',
                command,
                aggregatedOutput: '',
                exitCode: null,
                status: 'in_progress',
              }
            : { id, type: 'tool_call', ...toolName(name), arguments: input, status: 'in_progress' }
        tools.set(id, item)
        events.push({ type: 'item.started', item })
        continue
      }
      events.push(...raw(json))
    }
    return events
  }

  function user(line: Extract<ClaudeLine, { type: 'user' }>, json: unknown): AgentEvent[] {
    const blocks = typeof line.message.content === 'string' ? [] : line.message.content
    const events: AgentEvent[] = []
    for (const block of blocks) {
      const result = toolResultBlock.safeParse(block)
      const started = result.success ? tools.get(result.data.tool_use_id) : undefined
      if (!result.success || !started) {
        events.push(...raw(json))
        continue
      }
      tools.delete(result.data.tool_use_id)
      if (started.type === 'command_execution') {
        const { output, exitCode } = bashOutcome(result.data)
        const refused = exitCode === null && (isDenial(output) || prompts?.declined.has(started.id))
        const status = exitCode === 0 ? 'completed' : refused ? 'declined' : 'failed'
        events.push({
          type: 'item.completed',
          item: { ...started, aggregatedOutput: output, exitCode, status },
        })
      } else if (started.type === 'tool_call') {
        const text = resultText(result.data)
        // a tool (WebFetch, Write, an MCP tool...) the client declined, or the permission mode refused unasked
        // (approval policy `never`), is `declined`, as such a command is
        const refused = (prompts?.declined.has(started.id) ?? false) || isDenial(text)
        const outcome = result.data.is_error
          ? { error: text, status: refused ? ('declined' as const) : ('failed' as const) }
          : { result: text, status: 'completed' as const }
        events.push({ type: 'item.completed', item: { ...started, ...outcome } })
      }
    }
    return events.length > 0 ? events : raw(json)
  }

  function partial(line: Extract<ClaudeLine, { type: 'stream_event' }>): AgentEvent[] {
    const { event } = line
    const messageId = line.api_message_id ?? event.message?.id ?? 'msg'
    if (event.type === 'content_block_start' && event.content_block?.type === 'text') {
      openTexts.push(`${messageId}_${++counter}`)
      return []
    }
    if (event.type === 'content_block_delta' && event.delta?.type === 'text_delta' && event.delta.text) {
      const itemId = openTexts.at(-1)
      return itemId ? [{ type: 'item.delta', itemId, delta: event.delta.text }] : []
    }
    return []
  }

  return {
    map: mapParsedLines(claudeLine, agent, (ev, json) => {
      switch (ev.type) {
        case 'system':
          sessionId = ev.session_id
          return [{ type: 'agent.session', agent, agentSessionId: ev.session_id }, { type: 'turn.started' }]
        case 'assistant':
          return assistant(ev, json)
        case 'user':
          return user(ev, json)
        case 'stream_event':
          return partial(ev)
        case 'control_request':
        case 'control_cancel_request':
          if (!prompts) return raw(json)
          prompts.handle(ev)
          return []
        case 'result': {
          prompts?.finish()
          out.usage = ev.usage ? toUsage(ev.usage) : null
          if (!ev.is_error && ev.subtype === 'success') {
            out.finalResponse = ev.result ?? lastText
            return [{ type: 'turn.completed', usage: out.usage }]
          }
          out.failure =
            ev.result || ev.errors?.join('\n') || out.lastError || `claude ended with ${ev.subtype}`
          return [{ type: 'turn.failed', error: out.failure }]
        }
      }
    }),
    ...outcomeReaders(out),
    sessionId: () => sessionId,
  }
}
