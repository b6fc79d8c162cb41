import { z } from 'zod'
import { agentEvent, storedEventMeta } from '../protocol/events.js'
import { item } from '../protocol/items.js'
import { usage } from '../protocol/outcome.js'
import { run } from '../protocol/runs.js'
import { approval, session, turn } from '../protocol/sessions.js'
import { runList, v1Error } from './v1/schemas.js'

/**
 * Names the shared schemas so the OpenAPI document lists them under components.schemas (and the typed client
 * gets `Schemas['Run']`, ...) instead of repeating them inline. Imported once, before any route is registered.
 */
const named: [z.ZodType, string, string][] = [
  [run, 'Run', 'A durable one-shot run: request, status, outcome, final response, usage.'],
  [runList, 'RunList', 'One page of runs, newest first; `nextCursor` fetches the next.'],
  [session, 'Session', "A session: the agent's own thread, its state and settings."],
  [turn, 'Turn', 'One turn of a session: its input, status and final response.'],
  [approval, 'Approval', 'Something an agent asked permission for, and the answer.'],
  [usage, 'Usage', 'Tokens a run or turn used.'],
  [item, 'Item', 'A unit of work inside a turn (message, command, file change, ...).'],
  [agentEvent, 'AgentEvent', 'One normalized event, keyed on `type`.'],
  [
    storedEventMeta,
    'StoredEventMeta',
    'What every stored event carries besides its fields: seq, time, owner.',
  ],
  [v1Error, 'Error', 'The error body of every /v1 route.'],
]

/** `run.completed` -> `RunCompletedEvent`, `agent_message` -> `AgentMessageItem`. */
const pascal = (type: string) =>
  type
    .split(/[._]/)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('')
for (const variant of agentEvent.options)
  named.push([
    variant,
    `${pascal(variant.shape.type.value)}Event`,
    `The \`${variant.shape.type.value}\` event.`,
  ])
for (const variant of item.options)
  named.push([
    variant,
    `${pascal(variant.shape.type.value)}Item`,
    `The \`${variant.shape.type.value}\` item.`,
  ])

for (const [schema, id, description] of named)
  if (!z.globalRegistry.has(schema)) z.globalRegistry.add(schema, { id, description })
