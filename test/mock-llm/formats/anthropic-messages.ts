import { z } from 'zod'
import type { OutputStep } from '../types.js'
import { splitIntoDeltas } from './openai-responses.js'
import {
  estimateTokens,
  fitting,
  headerValue,
  parsedOr,
  type RenderContext,
  type SseEvent,
  type TurnInfo,
  type WireFormat,
} from './wire-format.js'

// Anthropic Messages API (POST /v1/messages?beta=true, stream: true), as Claude Code speaks it.
// Only /v1/messages is handled: side calls such as /v1/messages/count_tokens get the server's 404 and never
// consume a scripted step. Side requests on /v1/messages itself (see `sideAnswer`) are answered without one.

const blockSchema = z.looseObject({
  type: z.string().optional(),
  text: z.string().optional(),
  content: z.unknown().optional(),
})

const messageSchema = z.looseObject({
  role: z.string().optional(),
  content: z.union([z.string(), z.array(z.unknown())]).optional(),
})

const bodySchema = z.looseObject({
  model: z.string().optional(),
  messages: z.array(z.unknown()).optional(),
  system: z.union([z.string(), z.array(z.unknown())]).optional(),
  tools: z.array(z.unknown()).optional(),
})

type Block = z.infer<typeof blockSchema>
type Message = { role?: string; blocks: Block[] }

const parseBody = (body: unknown): z.infer<typeof bodySchema> => parsedOr(bodySchema, body, {})

function toBlocks(content: string | unknown[] | undefined): Block[] {
  if (content === undefined) return []
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  return fitting(blockSchema, content)
}

function messages(body: unknown): Message[] {
  return (parseBody(body).messages ?? []).map((raw) => {
    const parsed = messageSchema.safeParse(raw)
    return parsed.success ? { role: parsed.data.role, blocks: toBlocks(parsed.data.content) } : { blocks: [] }
  })
}

/** Reminders Claude Code adds to user messages (`<system-reminder>...`), not the user's prompt. */
const isContextualText = (text: string) => /^<([a-z-_]+)>[\s\S]*<\/\1>\s*$/.test(text.trim())

const hasToolResult = (m: Message) => m.blocks.some((b) => b.type === 'tool_result')
const isPrompt = (m: Message) => m.role === 'user' && !hasToolResult(m)

/** The prompt text of a user message: its text blocks without the injected reminders. */
function promptText(m: Message): string {
  const texts = m.blocks.filter((b) => b.type === 'text' && typeof b.text === 'string').map((b) => b.text!)
  const real = texts.filter((t) => !isContextualText(t))
  return (real.length > 0 ? real : texts).join('\n')
}

/** tool_result content is a string or a list of text blocks. */
function toolResultText(block: Block): string {
  if (typeof block.content === 'string') return block.content
  return toBlocks(Array.isArray(block.content) ? block.content : undefined)
    .map((b) => b.text ?? '')
    .join('\n')
}

function describeTurn(headers: Record<string, string | string[] | undefined>, body: unknown): TurnInfo {
  const all = messages(body)
  const lastPromptIndex = all.findLastIndex(isPrompt)
  const lastPrompt = all[lastPromptIndex]
  const trailing = all.slice(lastPromptIndex + 1).filter((m) => m.role === 'user')
  const lastResult = trailing.flatMap((m) => m.blocks).findLast((b) => b.type === 'tool_result')
  const firstPrompt = all.find(isPrompt)
  const session = headerValue(headers['x-claude-code-session-id'])
  return {
    lastUserText: lastPrompt ? promptText(lastPrompt) : '',
    conversationKey: session
      ? `session:${session}`
      : `first-user:${firstPrompt ? promptText(firstPrompt) : ''}`,
    isFollowUp: lastResult !== undefined,
    ...(lastResult ? { lastToolOutput: toolResultText(lastResult) } : {}),
  }
}

/** The system prompt Claude Code sends when it asks the model for a session title (structured JSON output). */
const sessionTitlePrompt = 'You are naming a coding session'

/**
 * Claude Code's side requests: the session-title request (no tools, a system prompt that starts with
 * `sessionTitlePrompt`, JSON output `{"title": ...}`) sent beside the first turn of a session.
 */
function sideAnswer(
  _headers: Record<string, string | string[] | undefined>,
  body: unknown,
): OutputStep | undefined {
  const { system, tools } = parseBody(body)
  if (tools !== undefined && tools.length > 0) return undefined
  const systemTexts = toBlocks(system).map((b) => b.text ?? '')
  if (!systemTexts.some((text) => text.startsWith(sessionTitlePrompt))) return undefined
  return { kind: 'text', text: JSON.stringify({ title: 'Mock session' }) }
}

function event(type: string, fields: Record<string, unknown> = {}): SseEvent {
  return { event: type, data: { type, ...fields } }
}

/** The content block of a step and the deltas that stream it. */
function blockEvents(
  step: OutputStep,
  ctx: RenderContext,
): { start: unknown; deltas: unknown[]; stop: string } {
  if (step.kind === 'update_plan')
    throw new Error('mock-llm: update_plan is a codex tool (openai-responses only)')
  if (step.kind === 'text') {
    const pieces = step.deltas ? splitIntoDeltas(step.text) : [step.text]
    return {
      start: { type: 'text', text: '' },
      deltas: pieces.map((text) => ({ type: 'text_delta', text })),
      stop: 'end_turn',
    }
  }
  if (step.kind === 'tool_use')
    return {
      start: { type: 'tool_use', id: ctx.nextId('toolu'), name: step.name, input: {} },
      deltas: [{ type: 'input_json_delta', partial_json: JSON.stringify(step.input) }],
      stop: 'tool_use',
    }
  // Claude Code has no patch tool: an apply_patch step is played as a Bash command that applies it.
  const command =
    step.kind === 'exec_command'
      ? step.workdir
        ? `cd ${JSON.stringify(step.workdir)} && ${step.cmd}`
        : step.cmd
      : `git apply <<'PATCH'\n${step.patch}\nPATCH`
  return {
    start: { type: 'tool_use', id: ctx.nextId('toolu'), name: 'Bash', input: {} },
    deltas: [{ type: 'input_json_delta', partial_json: JSON.stringify({ command }) }],
    stop: 'tool_use',
  }
}

function render(step: OutputStep, ctx: RenderContext): SseEvent[] {
  const model = parseBody(ctx.body).model ?? 'mock-model'
  const inputTokens = estimateTokens(JSON.stringify(ctx.body ?? ''))
  const { start, deltas, stop } = blockEvents(step, ctx)
  const outputTokens = estimateTokens(JSON.stringify(deltas))
  return [
    event('message_start', {
      message: {
        id: ctx.nextId('msg'),
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: 1 },
      },
    }),
    event('content_block_start', { index: 0, content_block: start }),
    ...deltas.map((delta) => event('content_block_delta', { index: 0, delta })),
    event('content_block_stop', { index: 0 }),
    event('message_delta', {
      delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: outputTokens },
    }),
    event('message_stop'),
  ]
}

export const anthropicMessages: WireFormat = {
  name: 'anthropic-messages',
  handles: (method, path) => method === 'POST' && (path === '/v1/messages' || path === '/messages'),
  describeTurn,
  sideAnswer,
  render,
  renderDropPrelude: (ctx) => [
    event('message_start', {
      message: { id: ctx.nextId('msg'), type: 'message', role: 'assistant', content: [], usage: {} },
    }),
  ],
  errorBody: (status) =>
    JSON.stringify({
      type: 'error',
      error: {
        type: status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error',
        message: `mock-llm http_error ${status}`,
      },
    }),
}
