import type { SessionHooks } from '../session.js'

/**
 * copilot's file changes, answered by the gateway once the client accepted one for the session. copilot writes its
 * edits itself (not through the gateway's fs/write_text_file), after asking each (`session/request_permission`,
 * kind `edit`, its unified diff in `rawInput`); its own `allow_always` stops it asking about any later edit of the
 * session, a file outside the cwd too, which it then wrote unasked (1.0.102). So an `accept_for_session` of a file
 * change is sent as `allow_once`, and every later file change of the session is accepted here: copilot still asks
 * about each, and what the sandbox refuses (a path outside the cwd: sandbox-approvals.ts, which asks these hooks)
 * is declined before it gets here.
 */
export function copilotEditRules(hooks: SessionHooks): SessionHooks {
  let editsAccepted = false
  return {
    requestApproval: async (ask, signal) => {
      if (ask.kind !== 'file_change') return hooks.requestApproval(ask, signal)
      if (editsAccepted) return 'accept'
      const decision = await hooks.requestApproval(ask, signal)
      if (decision !== 'accept_for_session') return decision
      editsAccepted = true
      return 'accept'
    },
  }
}
