import type { ApprovalPolicy, SandboxMode } from '../../protocol/policies.js'
import type { ApprovalAsk, SessionHooks } from '../session.js'
import { insideCwd } from './fs-access.js'
import { oneShotApprovals } from './one-shot-approvals.js'

/**
 * A session's sandbox for an agent that asks about every tool it may not run on its own (`gemini --acp` in approval
 * mode `default`, `copilot --acp` without permission flags, claude-agent-acp in Claude Code's permission mode
 * `default`): the gateway answers what the sandbox decides and asks its hooks (the approvals of HTTP, the console,
 * `/agent/stream`) the rest.
 *
 * | sandbox            | answered without asking                   | asked (approvalPolicy `never`: declined instead)        |
 * |--------------------|-------------------------------------------|---------------------------------------------------------|
 * | read-only          | file changes outside the cwd: declined    | every command, file change and other permission        |
 * | workspace-write    | file changes: inside the cwd accepted, outside declined | commands (never: accepted when they run in the cwd) and the rest |
 * | danger-full-access | everything                                | nothing                                                 |
 *
 * A file change outside the cwd (after symlinks) is never written in these sandboxes: the files the gateway writes
 * for an agent (fs/write_text_file) stay in the cwd (fs-access.ts), and copilot, which writes its edits itself,
 * wrote an approved one anywhere. `never` answers like a one-shot run (one-shot-approvals.ts): nobody is asked. The
 * other policies (`untrusted`, `on-request`, `on-failure`) and none all ask: these agents tell no difference
 * between them. A command accepted here runs unconfined (none of these agents has an OS sandbox of its own here):
 * the sandbox is the gateway's decision.
 */
export function sandboxApprovals(
  sandbox: SandboxMode,
  policy: ApprovalPolicy | undefined,
  cwd: string,
  hooks: SessionHooks,
): SessionHooks {
  const byRule = oneShotApprovals(sandbox, cwd)
  return {
    requestApproval: async (ask, signal) => {
      if (sandbox === 'danger-full-access') return 'accept'
      if (changesOutside(ask, cwd)) return 'decline'
      if (policy === 'never') return byRule.requestApproval(ask, signal)
      if (sandbox === 'workspace-write' && ask.kind === 'file_change') {
        const decided = await byRule.requestApproval(ask, signal)
        if (decided === 'accept') return decided
      }
      return hooks.requestApproval(ask, signal)
    },
  }
}

/** A file change naming a path outside the cwd. */
const changesOutside = (ask: ApprovalAsk, cwd: string): boolean =>
  ask.kind === 'file_change' && (ask.changes ?? []).some((c) => !insideCwd(cwd, c.path))
