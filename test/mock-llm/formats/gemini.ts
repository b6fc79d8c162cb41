import { z } from 'zod'
import type { ExecCommandStep, OutputStep } from '../types.js'
import { splitIntoDeltas } from './openai-responses.js'
import {
  estimateTokens,
  type RenderContext,
  type SseEvent,
  type TurnInfo,
  type WireFormat,
} from './wire-format.js'

// Gemini API (POST /v1beta/models/{model}:streamGenerateContent?alt=sse), as Gemini CLI speaks it.
// Only the streaming call is answered: Gemini CLI's side calls (generateContent for model routing and
// next-speaker checks, countTokens) are not model turns and get the mock's 404, which the CLI tolerates.
// Tests avoid them by pinning a model (-m) and setting model.skipNextSpeakerCheck.

const partSchema = z.looseObject({
  text: z.string().optional(),
  functionResponse: z
    .looseObject({ name: z.string().optional(), response: z.unknown().optional() })
    .optional(),
})

const contentSchema = z.looseObject({
  role: z.string().optional(),
  parts: z.array(z.unknown()).optional(),
})

const bodySchema = z.looseObject({ contents: z.array(z.unknown()).optional() })

type Part = z.infer<typeof partSchema>
type Content = { role?: string; parts: Part[] }

const streamPath = /^\/v1(beta|alpha)?\/models\/[^/:]+:streamGenerateContent$/

function contents(body: unknown): Content[] {
  const parsed = bodySchema.safeParse(body)
  if (!parsed.success) return []
  return (parsed.data.contents ?? []).map((raw) => {
    const content = contentSchema.safeParse(raw)
    if (!content.success) return { parts: [] }
    const parts = (content.data.parts ?? []).flatMap((p) => {
      const part = partSchema.safeParse(p)
      return part.success ? [part.data] : []
    })
    return { ...(content.data.role ? { role: content.data.role } : {}), parts }
  })
}

/** Context Gemini CLI sends as user text (`<session_context>...`), not a real prompt. */
const isContextualText = (text: string) => /^<([a-z_]+)>[\s\S]*<\/\1>$/.test(text.trim())

const userTexts = (content: Content) =>
  content.parts
    .map((part) => part.text)
    .filter((text): text is string => typeof text === 'string' && !isContextualText(text))

const isPrompt = (content: Content) => content.role === 'user' && userTexts(content).length > 0
const isToolResult = (content: Content) =>
  content.role === 'user' && content.parts.some((part) => part.functionResponse !== undefined)

function toolOutput(content: Content): string {
  const response = content.parts.findLast((part) => part.functionResponse)?.functionResponse?.response
  const fields = z.looseObject({ output: z.string().optional(), error: z.string().optional() })
  const parsed = fields.safeParse(response)
  if (parsed.success && (parsed.data.output ?? parsed.data.error) !== undefined)
    return parsed.data.output ?? parsed.data.error ?? ''
  return JSON.stringify(response ?? null)
}

function describeTurn(_headers: Record<string, string | string[] | undefined>, body: unknown): TurnInfo {
  const all = contents(body)
  const prompts = all.filter(isPrompt)
  const lastPromptIndex = all.findLastIndex(isPrompt)
  const lastResult = all.slice(lastPromptIndex + 1).findLast(isToolResult)
  const firstPrompt = prompts[0] ? userTexts(prompts[0]).join('\n') : ''
  return {
    lastUserText: prompts.at(-1) ? userTexts(prompts.at(-1)!).join('\n') : '',
    conversationKey: `first-user:${firstPrompt}`,
    isFollowUp: lastResult !== undefined,
    ...(lastResult ? { lastToolOutput: toolOutput(lastResult) } : {}),
  }
}

function chunk(parts: Record<string, unknown>[], last: { finishReason: string; usage: unknown } | null) {
  const candidate = { content: { role: 'model', parts }, index: 0 }
  return {
    data: {
      candidates: [last ? { ...candidate, finishReason: last.finishReason } : candidate],
      ...(last ? { usageMetadata: last.usage } : {}),
      modelVersion: 'mock-gemini',
    },
  }
}

function shellCall(step: ExecCommandStep): Record<string, unknown> {
  const args = { command: step.cmd, ...(step.workdir ? { dir_path: step.workdir } : {}) }
  return { functionCall: { name: 'run_shell_command', args } }
}

function render(step: OutputStep, ctx: RenderContext): SseEvent[] {
  if (step.kind === 'update_plan')
    throw new Error('mock-llm: update_plan is a codex tool (openai-responses only)')
  if (step.kind === 'apply_patch') throw new Error('mock-llm: the gemini format has no apply_patch tool')
  const pieces =
    step.kind === 'text'
      ? (step.deltas ? splitIntoDeltas(step.text) : [step.text]).map((text) => ({ text }))
      : step.kind === 'tool_use'
        ? [{ functionCall: { name: step.name, args: step.input } }]
        : [shellCall(step)]
  const promptTokens = estimateTokens(JSON.stringify(ctx.body ?? ''))
  const outputTokens = estimateTokens(JSON.stringify(pieces))
  const usage = {
    promptTokenCount: promptTokens,
    candidatesTokenCount: outputTokens,
    totalTokenCount: promptTokens + outputTokens,
  }
  return pieces.map((part, index) =>
    chunk([part], index === pieces.length - 1 ? { finishReason: 'STOP', usage } : null),
  )
}

export const gemini: WireFormat = {
  name: 'gemini',
  handles: (method, path) => method === 'POST' && streamPath.test(path),
  describeTurn,
  render,
  renderDropPrelude: () => [chunk([{ text: 'partial ' }], null)],
  errorBody: (status) =>
    JSON.stringify({
      error: {
        code: status,
        message: `mock-llm http_error ${status}`,
        status: status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT',
      },
    }),
}
