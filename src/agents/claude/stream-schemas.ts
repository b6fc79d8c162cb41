import { z } from 'zod'

/**
 * What `claude -p --output-format stream-json --verbose --include-partial-messages` prints, one JSON object per
 * line, parsed at the boundary (never cast). Objects are loose: Claude Code adds fields often.
 */
export const textBlock = z.looseObject({ type: z.literal('text'), text: z.string() })
export const thinkingBlock = z.looseObject({ type: z.literal('thinking'), thinking: z.string() })
export const toolUseBlock = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.unknown().optional(),
})
export const toolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z
    .union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))])
    .optional(),
  is_error: z.boolean().optional(),
})

export const claudeUsage = z.looseObject({
  input_tokens: z.number().default(0),
  output_tokens: z.number().default(0),
  cache_read_input_tokens: z.number().nullish(),
  cache_creation_input_tokens: z.number().nullish(),
  output_tokens_details: z.looseObject({ thinking_tokens: z.number().nullish() }).nullish(),
})

const systemInit = z.looseObject({
  type: z.literal('system'),
  subtype: z.literal('init'),
  session_id: z.string(),
})
const assistantLine = z.looseObject({
  type: z.literal('assistant'),
  message: z.looseObject({ id: z.string(), content: z.array(z.unknown()) }),
  /** Set on Claude's own API error messages ("model_not_found", ...). */
  error: z.string().optional(),
})
const userLine = z.looseObject({
  type: z.literal('user'),
  message: z.looseObject({ content: z.union([z.string(), z.array(z.unknown())]) }),
})
const streamEvent = z.looseObject({
  type: z.literal('stream_event'),
  event: z.looseObject({
    type: z.string(),
    index: z.number().optional(),
    content_block: z.looseObject({ type: z.string() }).optional(),
    delta: z.looseObject({ type: z.string(), text: z.string().optional() }).optional(),
    message: z.looseObject({ id: z.string() }).optional(),
  }),
  api_message_id: z.string().optional(),
})
const resultLine = z.looseObject({
  type: z.literal('result'),
  subtype: z.string(),
  is_error: z.boolean().default(false),
  result: z.string().optional(),
  errors: z.array(z.string()).optional(),
  usage: claudeUsage.nullish(),
  session_id: z.string().optional(),
})

/**
 * A question Claude Code asks its host (`--permission-prompt-tool stdio` with `--input-format stream-json`): only
 * `can_use_tool` is asked of this gateway; the request carries the tool, its input and Claude's suggested rules.
 */
export const canUseTool = z.looseObject({
  subtype: z.literal('can_use_tool'),
  tool_name: z.string(),
  input: z.record(z.string(), z.unknown()).default({}),
  description: z.string().optional(),
  decision_reason: z.string().optional(),
  blocked_path: z.string().optional(),
  tool_use_id: z.string().optional(),
  permission_suggestions: z.array(z.unknown()).optional(),
})
export type CanUseTool = z.infer<typeof canUseTool>
const controlRequest = z.looseObject({
  type: z.literal('control_request'),
  request_id: z.string(),
  request: z.looseObject({ subtype: z.string() }),
})
/** Claude Code withdrew a question it asked (the tool no longer waits for the answer). */
const controlCancel = z.looseObject({ type: z.literal('control_cancel_request'), request_id: z.string() })
export type ClaudeControlLine = z.infer<typeof controlRequest> | z.infer<typeof controlCancel>

export const claudeLine = z.union([
  systemInit,
  assistantLine,
  userLine,
  streamEvent,
  resultLine,
  controlRequest,
  controlCancel,
])
export type ClaudeLine = z.infer<typeof claudeLine>
export type ClaudeUsage = z.infer<typeof claudeUsage>
export type ToolResultBlock = z.infer<typeof toolResultBlock>
