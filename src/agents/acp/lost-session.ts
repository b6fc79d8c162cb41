import type { AgentEvent } from '../../protocol/events.js'
import { contextLost } from '../claude/context-lost.js'

/** A session the agent could not load (`loadId`), gone on in a new one (`newId`); `why`: the agent's answer. */
export interface LostSession {
  loadId: string
  why: string
  newId: string
}

/**
 * The notice of a turn whose ACP session had to start anew (a non-fatal `error` item `context_lost`, after its
 * `turn.started`): the agent does not see the session's earlier turns, which the gateway's history still shows.
 * claude-agent-acp's says it as native claude's does (claude/context-lost.ts).
 */
export function lostSessionNotice(agentName: string, claude: boolean, lost: LostSession): AgentEvent {
  if (claude)
    return contextLost(lost.loadId, 'load', `the session goes on in a new conversation, ${lost.newId}`)
  const message =
    `context lost: ${agentName} could not load the session ${lost.loadId} (${lost.why}), so it goes on in a new ` +
    `session, ${lost.newId}: ${agentName} does not see the session's earlier turns`
  return { type: 'item.completed', item: { id: 'context_lost', type: 'error', message } }
}
