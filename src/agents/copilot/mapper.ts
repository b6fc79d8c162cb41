import type { AgentEvent } from '../../protocol/events.js'
import type { Item } from '../../protocol/items.js'
import type { Usage } from '../../protocol/outcome.js'
import { mapParsedLines } from '../json-lines.js'
import type { LineMapper } from '../process-run.js'
import { type CopilotEvent, copilotEvent, shellArguments, shellTools } from './events.js'

export interface CopilotMapperOptions {
  agent?: string
  /**
   * Model request failures tolerated before the run is given up (copilot itself retries 5 times with
   * backoff and has no setting for it). Undefined: copilot decides.
   */
  maxModelRetries?: number
  /** Called once when the run should be ended early (retries exhausted). */
  onGiveUp?: (reason: string) => void
}

export type CopilotMapper = LineMapper & { sessionId(): string | null; gaveUp(): boolean }

interface OpenTool {
  name: string
  arguments: unknown
  command: string | null
}

/** copilot appends `<shellId: N completed with exit code X>` to a shell tool's output. */
const stripShellTrailer = (text: string) => text.replace(/\n?<shellId: [^>]*>\s*$/, '')

/** Maps copilot's JSONL to normalized events; unknown or malformed lines become `agent.raw`. */
export function createCopilotMapper(opts: CopilotMapperOptions = {}): CopilotMapper {
  const agent = opts.agent ?? 'copilot'
  const tools = new Map<string, OpenTool>()
  let finalResponse: string | null = null
  let usage: Usage | null = null
  let failure: string | null = null
  let lastError: string | null = null
  let sessionId: string | null = null
  let started = false
  let modelFailures = 0
  let gaveUp = false
  let reasonings = 0
  const raw = (payload: unknown): AgentEvent[] => [{ type: 'agent.raw', agent, payload }]

  const fail = (message: string): AgentEvent[] => {
    if (failure !== null) return []
    failure = message
    return [{ type: 'turn.failed', error: message }]
  }

  const addUsage = (u: Extract<CopilotEvent, { type: 'assistant.usage' }>['data']) => {
    const prev = usage ?? { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, reasoningOutputTokens: 0 }
    usage = {
      inputTokens: prev.inputTokens + u.inputTokens,
      cachedInputTokens: prev.cachedInputTokens + u.cacheReadTokens,
      outputTokens: prev.outputTokens + u.outputTokens,
      reasoningOutputTokens: prev.reasoningOutputTokens + u.reasoningTokens,
    }
  }

  const toolItem = (id: string, tool: OpenTool, done?: ToolDone): Item => {
    const status = !done ? 'in_progress' : done.success ? 'completed' : 'failed'
    const output = done?.result?.detailedContent ?? done?.result?.content ?? ''
    if (tool.command !== null)
      return {
        id,
        type: 'command_execution',
        command: tool.command,
        aggregatedOutput: stripShellTrailer(output),
        exitCode: done ? (done.shellExecution?.exitCode ?? (done.success ? 0 : null)) : null,
        status,
      }
    return {
      id,
      type: 'tool_call',
      tool: tool.name,
      arguments: tool.arguments,
      ...(done?.result ? { result: done.result.content ?? output } : {}),
      ...(done?.error?.message ? { error: done.error.message } : {}),
      status,
    }
  }

  const mapEvent = (ev: CopilotEvent, json: unknown): AgentEvent[] => {
    switch (ev.type) {
      case 'user.message':
        if (started) return raw(json)
        started = true
        return [{ type: 'turn.started' }]
      case 'assistant.message_delta':
        return [{ type: 'item.delta', itemId: ev.data.messageId, delta: ev.data.deltaContent }]
      case 'assistant.message':
        // A message that only requests tools has no text: the tool items tell the story.
        if (ev.data.content === '') return raw(json)
        finalResponse = ev.data.content
        return [
          {
            type: 'item.completed',
            item: { id: ev.data.messageId, type: 'agent_message', text: ev.data.content },
          },
        ]
      case 'assistant.reasoning':
        return [
          {
            type: 'item.completed',
            item: {
              id: ev.data.reasoningId ?? `reasoning_${++reasonings}`,
              type: 'reasoning',
              text: ev.data.content,
            },
          },
        ]
      case 'assistant.usage':
        addUsage(ev.data)
        return raw(json)
      case 'tool.execution_start': {
        const shell = shellTools.has(ev.data.toolName) ? shellArguments.safeParse(ev.data.arguments) : null
        const tool = {
          name: ev.data.toolName,
          arguments: ev.data.arguments,
          command: shell?.success ? shell.data.command : null,
        }
        tools.set(ev.data.toolCallId, tool)
        return [{ type: 'item.started', item: toolItem(ev.data.toolCallId, tool) }]
      }
      case 'tool.execution_complete': {
        const tool = tools.get(ev.data.toolCallId)
        if (!tool) return raw(json)
        tools.delete(ev.data.toolCallId)
        return [{ type: 'item.completed', item: toolItem(ev.data.toolCallId, tool, ev.data) }]
      }
      case 'model.call_failure': {
        lastError = ev.data.errorMessage ?? 'model request failed'
        modelFailures += 1
        if (opts.maxModelRetries === undefined || modelFailures <= opts.maxModelRetries) return raw(json)
        gaveUp = true
        const message = `model request failed (${modelFailures} attempts): ${lastError}`
        opts.onGiveUp?.(message)
        return [...raw(json), ...fail(message)]
      }
      case 'session.error':
        lastError = ev.data.message
        return [...raw(json), ...fail(ev.data.message)]
      case 'result': {
        sessionId = ev.sessionId
        const events: AgentEvent[] = [{ type: 'agent.session', agent, agentSessionId: ev.sessionId }]
        if ((ev.exitCode ?? 0) !== 0) events.push(...fail(lastError ?? `copilot exited with ${ev.exitCode}`))
        else if (failure === null) events.push({ type: 'turn.completed', usage })
        return events
      }
    }
  }

  return {
    map: mapParsedLines(copilotEvent, agent, mapEvent),
    finalResponse: () => finalResponse,
    usage: () => usage,
    failure: () => failure,
    lastError: () => lastError,
    sessionId: () => sessionId,
    gaveUp: () => gaveUp,
  }
}

type ToolDone = Extract<CopilotEvent, { type: 'tool.execution_complete' }>['data']
