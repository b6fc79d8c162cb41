import { z } from 'zod'
import type { AgentEvent } from '../../protocol/events.js'
import type { Item } from '../../protocol/items.js'
import type { Usage } from '../../protocol/outcome.js'
import { mapParsedLines } from '../json-lines.js'
import { type LineMapper, mapperOutcome, outcomeReaders } from '../process-run.js'

/** The JSONL that `gemini -o stream-json` prints (init, message, tool_use, tool_result, error, result). */
const stats = z.looseObject({
  input_tokens: z.number().int().nonnegative().catch(0).default(0),
  output_tokens: z.number().int().nonnegative().catch(0).default(0),
  cached: z.number().int().nonnegative().catch(0).default(0),
})
export const geminiStreamEvent = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('init'), session_id: z.string(), model: z.string().optional() }),
  z.looseObject({
    type: z.literal('message'),
    role: z.enum(['user', 'assistant']),
    content: z.string(),
    delta: z.boolean().optional(),
  }),
  z.looseObject({
    type: z.literal('tool_use'),
    tool_name: z.string(),
    tool_id: z.string(),
    parameters: z.unknown().optional(),
  }),
  z.looseObject({
    type: z.literal('tool_result'),
    tool_id: z.string(),
    status: z.enum(['success', 'error']).catch('error'),
    output: z.string().optional(),
    error: z.looseObject({ type: z.string().optional(), message: z.string() }).optional(),
  }),
  z.looseObject({
    type: z.literal('error'),
    severity: z.enum(['warning', 'error']).catch('error'),
    message: z.string(),
  }),
  z.looseObject({
    type: z.literal('result'),
    status: z.enum(['success', 'error']).catch('error'),
    error: z.looseObject({ type: z.string().optional(), message: z.string() }).optional(),
    stats: stats.optional(),
  }),
])
export type GeminiStreamEvent = z.infer<typeof geminiStreamEvent>

/** Gemini CLI's shell tool; its calls become `command_execution` items, every other tool a `tool_call`. */
export const shellTool = 'run_shell_command'

const shellParams = z.looseObject({ command: z.string() })

export function toUsage(s: z.infer<typeof stats>): Usage {
  return {
    inputTokens: s.input_tokens,
    cachedInputTokens: s.cached,
    outputTokens: s.output_tokens,
    reasoningOutputTokens: 0,
  }
}

/** The shell tool reports a non-zero exit only in its text ("Exit Code: N"). */
function exitCodeOf(status: 'success' | 'error', output: string): number | null {
  const match = /Exit Code: (\d+)/.exec(output)
  if (match) return Number(match[1])
  return status === 'success' ? 0 : null
}

function startedItem(ev: Extract<GeminiStreamEvent, { type: 'tool_use' }>): Item {
  const shell = ev.tool_name === shellTool ? shellParams.safeParse(ev.parameters) : undefined
  if (shell?.success)
    return {
      id: ev.tool_id,
      type: 'command_execution',
      command: shell.data.command,
      aggregatedOutput: '',
      exitCode: null,
      status: 'in_progress',
    }
  return {
    id: ev.tool_id,
    type: 'tool_call',
    tool: ev.tool_name,
    arguments: ev.parameters,
    status: 'in_progress',
  }
}

function completedItem(started: Item, ev: Extract<GeminiStreamEvent, { type: 'tool_result' }>): Item {
  const output = ev.output ?? ev.error?.message ?? ''
  const status = ev.status === 'success' ? 'completed' : 'failed'
  if (started.type === 'command_execution')
    return { ...started, aggregatedOutput: output, exitCode: exitCodeOf(ev.status, output), status }
  if (started.type !== 'tool_call') return started
  return {
    ...started,
    ...(ev.output !== undefined ? { result: ev.output } : {}),
    ...(ev.error ? { error: ev.error.message } : {}),
    status,
  }
}

/**
 * Maps Gemini CLI stream-json lines to normalized events; unknown or malformed lines become `agent.raw`.
 * `init` announces the session id and starts the turn; assistant text is one `agent_message` item per stretch
 * between tool calls (streamed as `item.delta`); `result` ends the turn.
 */
export function createGeminiStreamMapper(agent = 'gemini'): LineMapper & { sessionId(): string | null } {
  let sessionId: string | null = null
  const out = mapperOutcome()
  let message: { id: string; text: string } | null = null
  let messages = 0
  let errors = 0
  const tools = new Map<string, Item>()
  const raw = (payload: unknown): AgentEvent[] => [{ type: 'agent.raw', agent, payload }]

  /** Completes the agent message in progress, if any. */
  const closeMessage = (): AgentEvent[] => {
    if (!message) return []
    const item: Item = { id: message.id, type: 'agent_message', text: message.text }
    out.finalResponse = message.text
    message = null
    return [{ type: 'item.completed', item }]
  }

  const startMessage = (text: string): AgentEvent[] => {
    message = { id: `msg_${++messages}`, text }
    return [{ type: 'item.started', item: { id: message.id, type: 'agent_message', text: '' } }]
  }

  const assistantText = (content: string, delta: boolean): AgentEvent[] => {
    if (!delta) return [...closeMessage(), ...startMessage(content), ...closeMessage()]
    const opened = message ? [] : startMessage('')
    message!.text += content
    return [...opened, { type: 'item.delta', itemId: message!.id, delta: content }]
  }

  function map(ev: GeminiStreamEvent, json: unknown): AgentEvent[] {
    switch (ev.type) {
      case 'init':
        sessionId = ev.session_id
        return [{ type: 'agent.session', agent, agentSessionId: ev.session_id }, { type: 'turn.started' }]
      case 'message':
        // The CLI echoes the prompt as a user message: nothing new to report.
        return ev.role === 'user' ? [] : assistantText(ev.content, ev.delta === true)
      case 'tool_use': {
        const item = startedItem(ev)
        tools.set(ev.tool_id, item)
        return [...closeMessage(), { type: 'item.started', item }]
      }
      case 'tool_result': {
        const started = tools.get(ev.tool_id)
        if (!started) return raw(json)
        tools.delete(ev.tool_id)
        return [...closeMessage(), { type: 'item.completed', item: completedItem(started, ev) }]
      }
      case 'error':
        out.lastError = ev.message
        return [
          ...closeMessage(),
          { type: 'item.completed', item: { id: `error_${++errors}`, type: 'error', message: ev.message } },
        ]
      case 'result': {
        const closed = closeMessage()
        out.usage = ev.stats ? toUsage(ev.stats) : null
        if (ev.status === 'success') return [...closed, { type: 'turn.completed', usage: out.usage }]
        out.failure = ev.error?.message ?? out.lastError ?? 'gemini reported an error'
        return [...closed, { type: 'turn.failed', error: out.failure }]
      }
    }
  }

  return {
    map: mapParsedLines(geminiStreamEvent, agent, map),
    ...outcomeReaders(out),
    finalResponse: () => out.finalResponse ?? message?.text ?? null,
    sessionId: () => sessionId,
  }
}
