import { expect } from 'vitest'
import { type AgentEvent, agentEvent } from '../../src/protocol/events.js'
import type { Item } from '../../src/protocol/items.js'

type CommandItem = Extract<Item, { type: 'command_execution' }>

const frameTypes = [
  'run.started',
  'agent.session',
  'turn.started',
  'turn.completed',
  'turn.failed',
  'run.completed',
]

/**
 * What a client observes of a one-shot run (checked well formed): its completed items in order (a command
 * with the fields `commandFields` picks) and its frame (run.started, agent.session, turn.*, run.completed).
 */
export function observedRun(
  events: AgentEvent[],
  commandFields: (item: CommandItem) => Record<string, unknown>,
) {
  for (const ev of events) expect(agentEvent.safeParse(ev).success, JSON.stringify(ev)).toBe(true)
  expect(events[0]?.type).toBe('run.started')
  expect(events.filter((e) => e.type === 'run.completed')).toHaveLength(1)
  const items = events.flatMap((e): Record<string, unknown>[] => {
    if (e.type !== 'item.completed') return []
    const item = e.item
    if (item.type === 'agent_message') return [{ type: item.type, text: item.text }]
    if (item.type === 'command_execution')
      return [{ type: item.type, command: item.command, ...commandFields(item) }]
    return [{ type: item.type }]
  })
  const frame = events.filter((e) => frameTypes.includes(e.type)).map((e) => e.type)
  return { items, frame }
}
