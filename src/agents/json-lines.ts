import type { z } from 'zod'
import type { AgentEvent } from '../protocol/events.js'

export type ParsedLine<T> = { event: T; json: unknown } | { events: AgentEvent[] }

/**
 * One line of an agent's JSONL, parsed against its schema at the boundary: the event, or what to emit instead
 * (nothing for a blank line, `agent.raw` for anything malformed or unknown). Never throws.
 */
export function parseAgentLine<T>(line: string, schema: z.ZodType<T>, agent: string): ParsedLine<T> {
  if (line.trim() === '') return { events: [] }
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    return { events: [{ type: 'agent.raw', agent, payload: line }] }
  }
  const parsed = schema.safeParse(json)
  return parsed.success
    ? { event: parsed.data, json }
    : { events: [{ type: 'agent.raw', agent, payload: json }] }
}

/**
 * A LineMapper's `map`: each line parsed against `schema`; blank lines map to nothing, malformed or unknown
 * ones to `agent.raw`, and the agent's own events to what `handle` makes of them.
 */
export function mapParsedLines<T>(
  schema: z.ZodType<T>,
  agent: string,
  handle: (ev: T, json: unknown) => AgentEvent[],
): (line: string) => AgentEvent[] {
  return (line) => {
    const parsed = parseAgentLine(line, schema, agent)
    return 'events' in parsed ? parsed.events : handle(parsed.event, parsed.json)
  }
}
