import type { SandboxMode } from '../../protocol/policies.js'

/**
 * Sandbox modes as copilot permission flags. `copilot -p` cannot ask anyone, so a tool that is not allowed
 * is refused at once: there are no approvals (capabilities.approvals = false). That is approvalPolicy `never`,
 * the only one a session of this driver takes (core/approval-policy.ts refuses the others).
 *
 * | sandbox            | flags                                                        | enforced by copilot                         |
 * | ------------------ | ------------------------------------------------------------ | ------------------------------------------- |
 * | read-only          | --allow-all-tools --deny-tool=shell --deny-tool=write        | yes: no shell at all, no file-writing tool;  |
 * |                    |                                                              | read tools (view, grep, glob) stay allowed  |
 * | workspace-write    | --allow-tool=shell --allow-tool=write                        | file tools: paths limited to cwd (+ tmp);   |
 * |                    |                                                              | shell commands run unconfined (NOT an OS     |
 * |                    |                                                              | sandbox: a command may write anywhere)      |
 * | danger-full-access | --allow-all-tools --allow-all-paths                          | nothing is restricted                       |
 *
 * Deny rules win over allow rules (also over --allow-all-tools). No mode grants URL access (--allow-url);
 * a BYOK run is offline anyway (no web tools).
 */
export function permissionArgs(sandbox: SandboxMode): string[] {
  switch (sandbox) {
    case 'read-only':
      return ['--allow-all-tools', '--deny-tool=shell', '--deny-tool=write']
    case 'workspace-write':
      return ['--allow-tool=shell', '--allow-tool=write']
    case 'danger-full-access':
      return ['--allow-all-tools', '--allow-all-paths']
  }
}
