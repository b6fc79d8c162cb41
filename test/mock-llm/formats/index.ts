import { anthropicMessages } from './anthropic-messages.js'
import { chatCompletions } from './chat-completions.js'
import { gemini } from './gemini.js'
import { openAiResponses } from './openai-responses.js'
import type { WireFormat } from './wire-format.js'

export type { RenderContext, SseEvent, TurnInfo, WireFormat } from './wire-format.js'

/** Every dialect the mock speaks; the first one whose `handles` says yes answers a request. */
export const wireFormats: readonly WireFormat[] = [
  openAiResponses,
  chatCompletions,
  anthropicMessages,
  gemini,
]

export function findWireFormat(method: string, path: string): WireFormat | undefined {
  return wireFormats.find((format) => format.handles(method, path))
}
