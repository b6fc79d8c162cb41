import { z } from 'zod'

/**
 * The JSONL that `copilot -p --output-format json` prints (one session event per line, plus a final
 * `result`), parsed at the boundary. Only the events the gateway maps are described; the rest become
 * `agent.raw`. Reference: schemas/session-events.schema.json in the copilot package.
 */
const event = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.object({ type: z.literal(type), data })

const toolResult = z.looseObject({ content: z.string().optional(), detailedContent: z.string().optional() })

export const copilotEvent = z.discriminatedUnion('type', [
  event('user.message', z.looseObject({ content: z.string() })),
  event('assistant.message_delta', z.looseObject({ messageId: z.string(), deltaContent: z.string() })),
  event('assistant.message', z.looseObject({ messageId: z.string(), content: z.string().default('') })),
  event('assistant.reasoning', z.looseObject({ reasoningId: z.string().optional(), content: z.string() })),
  event(
    'assistant.usage',
    z.looseObject({
      inputTokens: z.number().int().nonnegative().default(0),
      outputTokens: z.number().int().nonnegative().default(0),
      cacheReadTokens: z.number().int().nonnegative().default(0),
      reasoningTokens: z.number().int().nonnegative().default(0),
    }),
  ),
  event(
    'tool.execution_start',
    z.looseObject({ toolCallId: z.string(), toolName: z.string(), arguments: z.unknown().optional() }),
  ),
  event(
    'tool.execution_complete',
    z.looseObject({
      toolCallId: z.string(),
      success: z.boolean(),
      result: toolResult.optional(),
      error: z.looseObject({ message: z.string().optional() }).optional(),
      shellExecution: z.looseObject({ exitCode: z.number().int().nullable().optional() }).optional(),
    }),
  ),
  event('model.call_failure', z.looseObject({ errorMessage: z.string().optional() })),
  event('session.error', z.looseObject({ message: z.string(), errorType: z.string().optional() })),
  z.object({ type: z.literal('result'), sessionId: z.string(), exitCode: z.number().int().optional() }),
])
export type CopilotEvent = z.infer<typeof copilotEvent>

/** Arguments of copilot's shell tool (`bash`; `powershell` on Windows). */
export const shellArguments = z.looseObject({ command: z.string() })
export const shellTools = new Set(['bash', 'powershell'])
