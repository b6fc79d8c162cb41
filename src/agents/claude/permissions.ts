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
 * Approvals: with approvalPolicy `never` (a run, a session's default) nobody answers a permission prompt, so
 * whatever would prompt is denied (it shows as a failed tool result and in the result's `permission_denials`).
 * A session turn with any other policy (`asks`) runs with `--permission-prompt-tool stdio` instead: read-only
 * becomes `--permission-mode default` (reads run, everything else is asked), workspace-write keeps acceptEdits
 * (edits in cwd run, the rest is asked), and Claude Code sends each question to the gateway on stdout; the
 * answer goes back on stdin (permission-prompts.ts). danger-full-access asks nothing either way.
 */
export function permissionArgs(sandbox: SandboxMode, asks = false): string[] {
  const prompts = asks ? ['--permission-prompt-tool', 'stdio'] : []
  switch (sandbox) {
    case 'read-only':
      return ['--permission-mode', asks ? 'default' : 'dontAsk', ...prompts]
    case 'workspace-write':
      return ['--permission-mode', 'acceptEdits', ...prompts]
    case 'danger-full-access':
      return ['--permission-mode', 'bypassPermissions']
  }
}

/** Claude Code refuses bypassPermissions as root outside a declared sandbox. */
export function permissionEnv(sandbox: SandboxMode, uid = process.getuid?.()): Record<string, string> {
  return sandbox === 'danger-full-access' && uid === 0 ? { IS_SANDBOX: '1' } : {}
}
