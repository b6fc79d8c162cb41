import { z } from 'zod'
import type { ApplyPatchStep, ExecCommandStep, OutputStep } from '../types.js'
import { splitIntoDeltas } from './openai-responses.js'
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

// OpenAI Chat Completions (POST /v1/chat/completions, stream: true), as the copilot CLI speaks it (BYOK).
// Chunks are `data: {choices:[{delta, finish_reason}]}`; the stream simply ends (clients treat the end of
// the body like `data: [DONE]`, which the mock's JSON-only SSE encoder cannot write).

const partSchema = z.looseObject({ type: z.string().optional(), text: z.string().optional() })
const contentSchema = z.union([z.string(), z.array(partSchema), z.null()])

const messageSchema = z.looseObject({
  role: z.string().optional(),
  content: contentSchema.optional(),
  tool_call_id: z.string().optional(),
})

const toolSchema = z.looseObject({
  type: z.string().optional(),
  function: z
    .looseObject({
      name: z.string().optional(),
      parameters: z
        .looseObject({
          properties: z.record(z.string(), z.unknown()).optional(),
          required: z.array(z.string()).optional(),
        })
        .optional(),
    })
    .optional(),
})

const bodySchema = z.looseObject({
  model: z.string().optional(),
  messages: z.array(z.unknown()).optional(),
  tools: z.array(z.unknown()).optional(),
  stream: z.boolean().optional(),
})

type Message = z.infer<typeof messageSchema>
type Tool = z.infer<typeof toolSchema>

const parseBody = (body: unknown): z.infer<typeof bodySchema> => parsedOr(bodySchema, body, {})

function messages(body: unknown): Message[] {
  return (parseBody(body).messages ?? []).map((raw) => {
    const parsed = messageSchema.safeParse(raw)
    return parsed.success ? parsed.data : {}
  })
}

const tools = (body: unknown): Tool[] => fitting(toolSchema, parseBody(body).tools ?? [])

/** Wrappers an agent injects as user messages (`<current_datetime>...`, reminders), not real prompts. */
function isContextualText(text: string): boolean {
  return /^<([a-z_]+)>[\s\S]*<\/\1>$/.test(text.trim())
}

/** copilot prefixes each prompt with `<current_datetime>...</current_datetime>`: the prompt is what follows. */
function withoutContextPrefix(text: string): string {
  const rest = text.replace(/^(?:\s*<([a-z_]+)>[\s\S]*?<\/\1>)+\s*/, '')
  return rest === '' ? text : rest
}

function describeTurn(headers: Record<string, string | string[] | undefined>, body: unknown): TurnInfo {
  const all = messages(body)
  const userTexts = all
    .filter((m) => m.role === 'user')
    .map((m) => withoutContextPrefix(partsText(m.content)))
  const lastUserIndex = all.findLastIndex((m) => m.role === 'user')
  const lastOutput = all.slice(lastUserIndex + 1).findLast((m) => m.role === 'tool')
  const session = headerValue(headers['x-session-id']) ?? headerValue(headers['session-id'])
  return turnFromUserTexts(userTexts, isContextualText, session, lastOutput && partsText(lastOutput.content))
}

/** The shell tool the client declared (`bash` for copilot) and its command/workdir parameter names. */
function shellTool(body: unknown): { name: string; command: string; workdir?: string } {
  const declared = tools(body).find((t) => ['bash', 'shell', 'exec_command'].includes(t.function?.name ?? ''))
  const properties = Object.keys(declared?.function?.parameters?.properties ?? {})
  const command = ['command', 'cmd'].find((p) => properties.includes(p)) ?? 'command'
  const workdir = ['workdir', 'cwd', 'working_directory'].find((p) => properties.includes(p))
  return { name: declared?.function?.name ?? 'bash', command, ...(workdir ? { workdir } : {}) }
}

function execArguments(
  step: ExecCommandStep,
  body: unknown,
): { name: string; args: Record<string, unknown> } {
  const tool = shellTool(body)
  const args: Record<string, unknown> = { [tool.command]: step.cmd }
  if (step.workdir && tool.workdir) args[tool.workdir] = step.workdir
  const declared = tools(body).find((t) => t.function?.name === tool.name)
  // copilot's bash tool requires a short description of the command.
  if (declared?.function?.parameters?.required?.includes('description')) args.description = 'mock command'
  return { name: tool.name, args }
}

function patchArguments(
  step: ApplyPatchStep,
  body: unknown,
): { name: string; args: Record<string, unknown> } {
  const declared = tools(body).find((t) => t.function?.name === 'apply_patch')
  const properties = Object.keys(declared?.function?.parameters?.properties ?? {})
  const param = properties.includes('input')
    ? 'input'
    : (declared?.function?.parameters?.required?.[0] ?? 'input')
  return { name: 'apply_patch', args: { [param]: step.patch } }
}

function render(step: OutputStep, ctx: RenderContext): SseEvent[] {
  if (step.kind === 'update_plan')
    throw new Error('mock-llm: update_plan is a codex tool (openai-responses only)')
  if (step.kind === 'tool_use')
    throw new Error('mock-llm: tool_use is a Claude Code tool (anthropic-messages only)')
  const id = ctx.nextId('chatcmpl')
  const model = parseBody(ctx.body).model ?? 'mock-model'
  const chunk = (
    delta: Record<string, unknown>,
    finish: string | null,
    extra: Record<string, unknown> = {},
  ) => ({
    data: {
      id,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    },
  })
  const events: SseEvent[] = [chunk({ role: 'assistant', content: '' }, null)]
  let produced: string
  if (step.kind === 'text') {
    const pieces = step.deltas ? splitIntoDeltas(step.text) : [step.text]
    for (const piece of pieces) events.push(chunk({ content: piece }, null))
    produced = step.text
  } else {
    const call = step.kind === 'exec_command' ? execArguments(step, ctx.body) : patchArguments(step, ctx.body)
    const args = JSON.stringify(call.args)
    const toolCall = {
      index: 0,
      id: ctx.nextId('call'),
      type: 'function',
      function: { name: call.name, arguments: '' },
    }
    events.push(chunk({ tool_calls: [toolCall] }, null))
    events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: args } }] }, null))
    produced = args
  }
  const promptTokens = estimateTokens(JSON.stringify(ctx.body ?? ''))
  const completionTokens = estimateTokens(produced)
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  }
  events.push(chunk({}, step.kind === 'text' ? 'stop' : 'tool_calls', { usage }))
  return events
}

export const chatCompletions: WireFormat = {
  name: 'chat-completions',
  handles: (method, path) =>
    method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions'),
  describeTurn,
  render,
  renderDropPrelude: (ctx) => [
    {
      data: {
        id: ctx.nextId('chatcmpl'),
        object: 'chat.completion.chunk',
        model: parseBody(ctx.body).model ?? 'mock-model',
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
      },
    },
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
