import { ApiError } from '../../src/client/index.js'

/** What the Structured output field holds: nothing (free text), a schema to send, or why it cannot be sent. */
export type SchemaText = { schema?: Record<string, unknown>; error?: string }

/**
 * The field's text as the `outputSchema` a run or turn sends: empty is none; anything but a JSON object is refused
 * here, before the gateway is asked (it would answer a 400 naming the body's type, not the field's mistake).
 */
export function readSchema(text: string): SchemaText {
  if (!text.trim()) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    return { error: `Not JSON: ${(err as Error).message}` }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return { error: 'A JSON Schema is a JSON object, such as {"type": "object", "properties": {...}}' }
  return { schema: parsed as Record<string, unknown> }
}

/**
 * The gateway's refusal of the schema itself (a 400 whose message starts with `outputSchema`: not a valid JSON
 * Schema, too large, a `$ref` outside it, with steer), shown at the field; null for any other error.
 */
export function schemaRefusal(err: unknown): string | null {
  if (!(err instanceof ApiError) || err.status !== 400) return null
  return /^outputSchema\b/.test(err.message) ? err.message : null
}

/**
 * A final answer as structured data, when it is a JSON object or array (a turn's `finalResponse` is the agent's
 * text; with an output schema it is JSON): undefined otherwise.
 */
export function structuredAnswer(text: string | null | undefined): unknown {
  const trimmed = text?.trim()
  if (!trimmed || !/^[[{]/.test(trimmed)) return undefined
  try {
    return JSON.parse(trimmed) as unknown
  } catch {
    return undefined
  }
}
