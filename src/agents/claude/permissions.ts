import type { SandboxMode } from '../../protocol/policies.js'

/**
 * The gateway's sandbox modes as Claude Code permission modes (verified with claude 2.1.330 in `-p` mode):
 *
 * | sandbox            | claude flags                          | effect                                                        |
 * | ------------------ | ------------------------------------- | ------------------------------------------------------------- |
 * | read-only (default)| --permission-mode dontAsk             | only tools that need no permission run (Read, Grep, Glob...); |
 * |                    |                                       | Bash, Edit, Write are denied and the model is told so         |
 * | workspace-write    | --permission-mode acceptEdits         | file edits in cwd accepted; Bash commands whose effects stay  |
 * |                    |                                       | in cwd accepted by Claude's own checks; the rest is denied     |
 * | danger-full-access | --permission-mode bypassPermissions   | everything runs; as root Claude Code refuses this mode unless |
 * |                    | (+ IS_SANDBOX=1 in the env as root)   | IS_SANDBOX=1, which the driver sets                            |
 *
 * Approvals: in `-p` mode nobody can answer a permission prompt, so whatever would prompt is denied (it shows as
 * a failed tool result and in the result's `permission_denials`): that is approvalPolicy `never`, the only one a
 * session of this driver takes (core/approval-policy.ts refuses the others). Remote approvals of Claude Code
 * come through the ACP driver (claude-agent-acp), not this one.
 */
export function permissionArgs(sandbox: SandboxMode): string[] {
  switch (sandbox) {
    case 'read-only':
      return ['--permission-mode', 'dontAsk']
    case 'workspace-write':
      return ['--permission-mode', 'acceptEdits']
    case 'danger-full-access':
      return ['--permission-mode', 'bypassPermissions']
  }
}

/** Claude Code refuses bypassPermissions as root outside a declared sandbox. */
export function permissionEnv(sandbox: SandboxMode, uid = process.getuid?.()): Record<string, string> {
  return sandbox === 'danger-full-access' && uid === 0 ? { IS_SANDBOX: '1' } : {}
}
