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
