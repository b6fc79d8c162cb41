import type { SandboxMode } from '../../protocol/policies.js'
import type { AskForApproval } from './generated/v2/AskForApproval.js'

/**
 * codex lets the model ask to run a command without its sandbox (`sandbox_permissions: "require_escalated"`),
 * and its approval request for that says nothing of it (codex 0.171: the same params as a sandboxed command's,
 * `reason` the model's optional justification): accepted, the command ran with the gateway user's rights whatever
 * the session's sandbox. The gateway cannot tell such a request apart, so codex itself must refuse them: its
 * `on-request` (the gateway's `on-request` and `on-failure`) is sent as the granular policy that asks what
 * on-request asks but a sandbox escalation (`sandbox_approval: false`: codex answers the model "approval policy
 * disallowed sandbox approval prompt", nothing runs) or a permissions request (`request_permissions: false`: write
 * or read paths, network, beyond the sandbox). `never` refuses escalations already; `untrusted` still asks them
 * (the granular policy would drop its questions about sandboxed commands): the gateway declines those it sees
 * (escalated-calls.ts).
 */

/** Whether the model's unsandboxed runs may be asked for: the sandbox is none already, or the operator allows none. */
export function escalationAllowed(sandbox: SandboxMode, allowDangerFullAccess: boolean): boolean {
  return sandbox === 'danger-full-access' || allowDangerFullAccess
}

/** on-request without its escalations. */
export const onRequestHeld: AskForApproval = {
  granular: {
    sandbox_approval: false,
    rules: true,
    skill_approval: true,
    request_permissions: false,
    mcp_elicitations: true,
  },
}

/** The policy codex is given for `policy` (the one the session reports): unchanged when escalation is allowed. */
export function heldApproval(policy: AskForApproval, allowed: boolean): AskForApproval {
  if (allowed) return policy
  if (policy === 'on-request') return onRequestHeld
  if (typeof policy === 'object')
    return { granular: { ...policy.granular, sandbox_approval: false, request_permissions: false } }
  return policy
}
