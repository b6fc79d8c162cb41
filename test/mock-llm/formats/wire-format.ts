import type { z } from 'zod'
import type { OutputStep } from '../types.js'

/** One server-sent event: `event: <event>` (optional) and a JSON `data:` line. */
export interface SseEvent {
  event?: string
  data: unknown
}

/** What the scenario logic needs to know about an incoming model request. */
export interface TurnInfo {
  lastUserText: string
  /** Stable per conversation: session header, else the first real user message. */
  conversationKey: string
  /** True when the request carries tool results after the last user message (same turn continues). */
  isFollowUp: boolean
  lastToolOutput?: string
}

export interface RenderContext {
  body: unknown
  nextId(prefix: string): string
}

/** A model API dialect: how requests look and how answers are streamed back. */
export interface WireFormat {
  name: string
  /** Does this format answer `method path` (path without query string)? */
  handles(method: string, path: string): boolean
  describeTurn(headers: Record<string, string | string[] | undefined>, body: unknown): TurnInfo
  /**
   * The answer to a side request the agent makes on its own (e.g. Claude Code naming the session), or
   * undefined for a real model turn. Consulted before the scenario logic: a side request never consumes a
   * scripted step and is recorded with `side: true`.
   */
  sideAnswer?(headers: Record<string, string | string[] | undefined>, body: unknown): OutputStep | undefined
  /** The full SSE stream for a step with model output. */
  render(step: OutputStep, ctx: RenderContext): SseEvent[]
  /** Events sent before the socket is destroyed for a `drop` step. */
  renderDropPrelude(ctx: RenderContext): SseEvent[]
  /** Default JSON body for an `http_error` step without an explicit body. */
  errorBody(status: number): string
}

/** A header's value (the first one when it came more than once). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** The token count the mock reports for a text: about four characters a token, at least one. */
export const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4))

/**
 * A turn from its user texts in order (the first one `isContextual` does not call a wrapper keys the
 * conversation when no session id came) and the tool output after the last of them, if any.
 */
export function turnFromUserTexts(
  userTexts: string[],
  isContextual: (text: string) => boolean,
  session: string | undefined,
  lastToolOutput: string | undefined,
): TurnInfo {
  const firstPrompt = userTexts.find((text) => !isContextual(text)) ?? userTexts[0] ?? ''
  return {
    lastUserText: userTexts.at(-1) ?? '',
    conversationKey: session ? `session:${session}` : `first-user:${firstPrompt}`,
    isFollowUp: lastToolOutput !== undefined,
    ...(lastToolOutput !== undefined ? { lastToolOutput } : {}),
  }
}

/** `value` as `schema` reads it, or `fallback` when it does not fit (a mock reads what it can of a request). */
export function parsedOr<T, F>(schema: z.ZodType<T>, value: unknown, fallback: F): T | F {
  const parsed = schema.safeParse(value)
  return parsed.success ? parsed.data : fallback
}

/** Those of `values` that fit `schema`, as it reads them; the others are left out. */
export function fitting<T>(schema: z.ZodType<T>, values: readonly unknown[]): T[] {
  return values.flatMap((value) => {
    const parsed = schema.safeParse(value)
    return parsed.success ? [parsed.data] : []
  })
}

/** A message content's text: a string as it is, else the text of its parts, one a line. */
export function partsText(content: string | readonly { text?: string }[] | null | undefined): string {
  if (content === undefined || content === null) return ''
  if (typeof content === 'string') return content
  return content
    .map((part) => part.text)
    .filter((text): text is string => typeof text === 'string')
    .join('\n')
}
