import type { AgentEvent } from '../../protocol/events.js'

/**
 * The notice of a turn whose Claude conversation was gone (a non-fatal `error` item, `context_lost`, as the stream,
 * the console and the API show every item), before the turn's answer: Claude answers without the session's earlier
 * turns, which the gateway's history still shows. Its file in Claude's home was removed, the home was cleaned or is
 * another machine's, or its last process was killed (kill -9, OOM) before it saved a word. `goesOn` says where the
 * turn goes on (a new conversation under the same id, or of a new id).
 */
export function contextLost(conversation: string, action: 'resume' | 'load', goesOn: string): AgentEvent {
  const message =
    `context lost: Claude has no conversation ${conversation} to ${action} (its file in Claude's home was ` +
    "removed, the home was cleaned or is another machine's, or its last process was killed before it saved any " +
    `of it), so ${goesOn}: Claude does not see the session's earlier turns`
  return { type: 'item.completed', item: { id: 'context_lost', type: 'error', message } }
}
