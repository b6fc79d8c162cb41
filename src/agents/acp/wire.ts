import { z } from 'zod'

/**
 * The parts of ACP `session/update` notifications the gateway maps, parsed with our own zod (the SDK's
 * schemas are not exported). Fields we do not read are ignored; an update that does not parse becomes
 * `agent.raw`.
 */
const text = z.object({ type: z.literal('text'), text: z.string() })
const contentBlock = z.union([text, z.object({ type: z.string() }).loose()])

const toolKind = z.string()
/**
 * ACP v2 adds `paused` (the call waits, e.g. a background task the agent paused; it may resume) and `cancelled`
 * (the call was stopped before it finished: its end) to v1's four.
 */
const toolStatus = z.enum(['pending', 'in_progress', 'paused', 'completed', 'failed', 'cancelled'])

const toolContent = z.union([
  z.object({ type: z.literal('content'), content: contentBlock }),
  z.object({
    type: z.literal('diff'),
    path: z.string(),
    oldText: z.string().nullish(),
    newText: z.string(),
    /** Gemini CLI's `kind` of the change (`add` for a new file, whose oldText it gives as ''). */
    _meta: z.object({ kind: z.string().optional() }).loose().nullish(),
  }),
  z.object({ type: z.string() }).loose(),
])

/** Fields of `tool_call` and `tool_call_update` (an update carries only what changed). */
export const toolCallFields = z.object({
  toolCallId: z.string(),
  title: z.string().nullish(),
  kind: toolKind.nullish(),
  status: toolStatus.nullish(),
  content: z.array(toolContent).nullish(),
  locations: z.array(z.object({ path: z.string() }).loose()).nullish(),
  rawInput: z.unknown().optional(),
  rawOutput: z.unknown().optional(),
  /**
   * The terminal extension (we declare `_meta.terminal_output` in the client capabilities): a command's terminal
   * (`terminal_info`), its output chunks and exit code, as codex-acp and claude-agent-acp report them. A shape we
   * do not expect is ignored, not an error. claude-agent-acp names the Claude Code tool of a call
   * (`claudeCode.toolName`), which its permission request does not.
   */
  _meta: z
    .looseObject({
      terminal_info: z.looseObject({}).optional(),
      terminal_output: z.looseObject({ data: z.string() }).optional(),
      terminal_exit: z.looseObject({ exit_code: z.number().int().nullish() }).optional(),
      claudeCode: z
        .looseObject({ toolName: z.string().min(1).optional().catch(undefined) })
        .optional()
        .catch(undefined),
    })
    .nullish()
    .catch(undefined),
})
export type ToolCallFields = z.infer<typeof toolCallFields>
export type ToolContent = z.infer<typeof toolContent>

export const sessionUpdate = z.discriminatedUnion('sessionUpdate', [
  z.object({ sessionUpdate: z.literal('agent_message_chunk'), content: contentBlock }),
  z.object({ sessionUpdate: z.literal('agent_thought_chunk'), content: contentBlock }),
  z.object({ sessionUpdate: z.literal('user_message_chunk'), content: contentBlock }),
  toolCallFields.extend({ sessionUpdate: z.literal('tool_call') }),
  toolCallFields.extend({ sessionUpdate: z.literal('tool_call_update') }),
  z.object({
    sessionUpdate: z.literal('plan'),
    entries: z.array(z.object({ content: z.string(), status: z.string() })),
  }),
])
export type SessionUpdate = z.infer<typeof sessionUpdate>

export const sessionNotification = z.object({ sessionId: z.string(), update: z.unknown() })
