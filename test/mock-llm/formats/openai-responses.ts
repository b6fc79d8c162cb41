import { z } from 'zod'
import type { ApplyPatchStep, ExecCommandStep, OutputStep, TextStep, UpdatePlanStep } from '../types.js'
import {
  estimateTokens,
  fitting,
  headerValue,
  parsedOr,
  partsText,
  type RenderContext,
  type SseEvent,
  type TurnInfo,
  turnFromUserTexts,
  type WireFormat,
} from './wire-format.js'

// OpenAI Responses API (POST /v1/responses, stream: true), as the codex CLI speaks it.

const contentSchema = z.union([
  z.string(),
  z.array(z.looseObject({ type: z.string().optional(), text: z.string().optional() })),
])

const inputItemSchema = z.looseObject({
  type: z.string().optional(),
  role: z.string().optional(),
  content: contentSchema.optional(),
  output: contentSchema.optional(),
})

const toolSchema = z.looseObject({
  type: z.string().optional(),
  name: z.string().optional(),
  parameters: z
    .looseObject({
      properties: z.record(z.string(), z.unknown()).optional(),
      required: z.array(z.string()).optional(),
    })
    .optional(),
})

const bodySchema = z.looseObject({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(z.unknown())]).optional(),
  tools: z.array(z.unknown()).optional(),
})

type InputItem = z.infer<typeof inputItemSchema>
type Tool = z.infer<typeof toolSchema>

const parseBody = (body: unknown): z.infer<typeof bodySchema> => parsedOr(bodySchema, body, {})

function inputItems(body: unknown): InputItem[] {
  const { input } = parseBody(body)
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }]
  const items: InputItem[] = []
  for (const raw of input ?? []) {
    const parsed = inputItemSchema.safeParse(raw)
    items.push(parsed.success ? parsed.data : {})
  }
  return items
}

const tools = (body: unknown): Tool[] => fitting(toolSchema, parseBody(body).tools ?? [])

const isUserMessage = (item: InputItem) =>
  item.role === 'user' && (item.type === undefined || item.type === 'message')

const isToolOutput = (item: InputItem) => item.type?.endsWith('_call_output') === true

/** Wrappers codex injects as user messages (environment context, AGENTS.md, ...), not real prompts. */
function isContextualText(text: string): boolean {
  const trimmed = text.trim()
  return /^<([a-z_]+)>[\s\S]*<\/\1>$/.test(trimmed) || trimmed.startsWith('# AGENTS.md instructions')
}

function describeTurn(headers: Record<string, string | string[] | undefined>, body: unknown): TurnInfo {
  const items = inputItems(body)
  const userTexts = items.filter(isUserMessage).map((item) => partsText(item.content))
  const lastUserIndex = items.findLastIndex(isUserMessage)
  const trailing = items.slice(lastUserIndex + 1)
  const lastOutput = trailing.findLast(isToolOutput)
  const session = headerValue(headers['session-id']) ?? headerValue(headers['thread-id'])
  return turnFromUserTexts(userTexts, isContextualText, session, lastOutput && partsText(lastOutput.output))
}

function event(type: string, fields: Record<string, unknown>): SseEvent {
  return { event: type, data: { type, ...fields } }
}

/** Text split into word-sized deltas that concatenate back to the original. */
export function splitIntoDeltas(text: string): string[] {
  const pieces = text.match(/\S+\s*|\s+/g)
  return pieces ?? [text]
}

function textItems(
  step: TextStep,
  ctx: RenderContext,
): { item: Record<string, unknown>; events: SseEvent[] } {
  const id = ctx.nextId('msg')
  const part = { type: 'output_text', text: step.text, annotations: [] }
  const item = { type: 'message', id, status: 'completed', role: 'assistant', content: [part] }
  const events: SseEvent[] = [
    event('response.output_item.added', {
      output_index: 0,
      item: { ...item, status: 'in_progress', content: [] },
    }),
  ]
  if (step.deltas) {
    const at = { item_id: id, output_index: 0, content_index: 0 }
    events.push(event('response.content_part.added', { ...at, part: { ...part, text: '' } }))
    for (const delta of splitIntoDeltas(step.text))
      events.push(event('response.output_text.delta', { ...at, delta }))
    events.push(event('response.output_text.done', { ...at, text: step.text }))
    events.push(event('response.content_part.done', { ...at, part }))
  }
  return { item, events }
}

function execCommandItem(step: ExecCommandStep, ctx: RenderContext): Record<string, unknown> {
  const args = {
    ...(step.tool === 'shell_command' ? { command: step.cmd } : { cmd: step.cmd }),
    ...(step.workdir ? { workdir: step.workdir } : {}),
    ...(step.yieldTimeMs ? { yield_time_ms: step.yieldTimeMs } : {}),
    ...(step.sandboxPermissions ? { sandbox_permissions: step.sandboxPermissions } : {}),
    ...(step.justification ? { justification: step.justification } : {}),
    ...(step.shell ? { shell: step.shell } : {}),
    ...(step.login !== undefined ? { login: step.login } : {}),
  }
  return {
    type: 'function_call',
    id: ctx.nextId('fc'),
    call_id: ctx.nextId('call'),
    name: step.tool ?? 'exec_command',
    arguments: JSON.stringify(args),
    status: 'completed',
  }
}

function updatePlanItem(step: UpdatePlanStep, ctx: RenderContext): Record<string, unknown> {
  return {
    type: 'function_call',
    id: ctx.nextId('fc'),
    call_id: ctx.nextId('call'),
    name: 'update_plan',
    arguments: JSON.stringify({
      ...(step.explanation ? { explanation: step.explanation } : {}),
      plan: step.plan,
    }),
    status: 'completed',
  }
}

/** codex declares apply_patch either as a freeform `custom` tool or as a JSON `function` tool. */
function applyPatchItem(step: ApplyPatchStep, ctx: RenderContext): Record<string, unknown> {
  const declared = tools(ctx.body).find((tool) => tool.name === 'apply_patch')
  const callId = ctx.nextId('call')
  if (declared?.type === 'function') {
    const properties = Object.keys(declared.parameters?.properties ?? {})
    const param = properties.includes('input') ? 'input' : (declared.parameters?.required?.[0] ?? 'input')
    return {
      type: 'function_call',
      id: ctx.nextId('fc'),
      call_id: callId,
      name: 'apply_patch',
      arguments: JSON.stringify({ [param]: step.patch }),
      status: 'completed',
    }
  }
  return {
    type: 'custom_tool_call',
    id: ctx.nextId('ctc'),
    call_id: callId,
    name: 'apply_patch',
    input: step.patch,
    status: 'completed',
  }
}

function render(step: OutputStep, ctx: RenderContext): SseEvent[] {
  const responseId = ctx.nextId('resp')
  const model = parseBody(ctx.body).model ?? 'mock-model'
  const base = { id: responseId, object: 'response', model }
  const events: SseEvent[] = [
    event('response.created', { response: { ...base, status: 'in_progress', output: [] } }),
  ]
  let item: Record<string, unknown>
  if (step.kind === 'tool_use')
    throw new Error('mock-llm: tool_use is a Claude Code tool (anthropic-messages only)')
  if (step.kind === 'text') {
    const rendered = textItems(step, ctx)
    item = rendered.item
    events.push(...rendered.events)
  } else {
    item =
      step.kind === 'exec_command'
        ? execCommandItem(step, ctx)
        : step.kind === 'update_plan'
          ? updatePlanItem(step, ctx)
          : applyPatchItem(step, ctx)
    events.push(
      event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress' } }),
    )
  }
  events.push(event('response.output_item.done', { output_index: 0, item }))
  const inputTokens = estimateTokens(JSON.stringify(ctx.body ?? ''))
  const outputTokens = estimateTokens(JSON.stringify(item))
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  }
  events.push(
    event('response.completed', { response: { ...base, status: 'completed', output: [item], usage } }),
  )
  return events
}

export const openAiResponses: WireFormat = {
  name: 'openai-responses',
  handles: (method, path) => method === 'POST' && (path === '/v1/responses' || path === '/responses'),
  describeTurn,
  render,
  renderDropPrelude: (ctx) => [
    event('response.created', {
      response: { id: ctx.nextId('resp'), object: 'response', status: 'in_progress', output: [] },
    }),
  ],
  errorBody: (status) =>
    JSON.stringify({
      error: {
        message: `mock-llm http_error ${status}`,
        type: status >= 500 ? 'server_error' : 'invalid_request_error',
        code: null,
      },
    }),
}
