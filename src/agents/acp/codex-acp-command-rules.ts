import type { SessionHooks } from '../session.js'

/**
 * codex-acp's commands are never accepted for the session. Its `allow_always` to a command is codex's execpolicy
 * amendment: codex writes `prefix_rule(pattern=[<the command>], decision="allow")` into CODEX_HOME/rules/default.rules,
 * which every later codex-acp session and codex thread of that CODEX_HOME loads (other clients', after restarts
 * too), and there the command runs unasked and without its sandbox (seen: a command one session accepted "for the
 * session", sandboxed, wrote outside the workspace in the next session; test/integration/codex-accept-for-session.test.ts).
 * So a command is offered accept, decline and cancel only; a file change or a permission keeps what the agent offers.
 */
export function codexAcpCommandRules(hooks: SessionHooks): SessionHooks {
  return {
    requestApproval: async (ask, signal) => {
      if (ask.kind !== 'command') return hooks.requestApproval(ask, signal)
      const options = ask.options.filter((d) => d !== 'accept_for_session')
      const decision = await hooks.requestApproval({ ...ask, options }, signal)
      return decision === 'accept_for_session' ? 'accept' : decision
    },
  }
}
