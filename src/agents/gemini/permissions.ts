import type { SandboxMode } from '../../protocol/policies.js'
import { shellTool } from './stream-events.js'

/**
 * The gateway's sandbox modes as Gemini CLI flags. In headless mode (`-p`) Gemini CLI cannot ask anybody, so
 * a tool that would need confirmation is not offered to the model at all: the approval mode decides the tool set.
 *
 * | sandbox            | flags                                                        | what is enforced                                                                                   |
 * |--------------------|--------------------------------------------------------------|----------------------------------------------------------------------------------------------------|
 * | read-only          | `--approval-mode default`                                    | enforced by the tool set: no shell, no write_file/replace, no web_fetch; read tools stay (read_file, glob, grep, list_directory, google_web_search) |
 * | workspace-write    | `--approval-mode auto_edit --allowed-tools run_shell_command` | edit tools write only inside the workspace (Gemini checks their paths); the shell is NOT confined: a command may write anywhere the gateway user can |
 * | danger-full-access | `--approval-mode yolo`                                       | nothing: every tool runs without confirmation                                                       |
 *
 * Not enforceable here: OS-level confinement of shell commands (Gemini CLI's `--sandbox` needs docker,
 * podman or macOS seatbelt, none of which the gateway assumes), network access of commands, and reads
 * outside the workspace by shell commands. Gemini CLI has no approval requests in headless mode (its policy
 * engine turns every `ask_user` into `deny` when not interactive; `--approval-mode` only chooses what is allowed
 * without asking): capabilities.approvals = false, and a session takes approvalPolicy `never` alone
 * (core/approval-policy.ts refuses the others).
 */
export function approvalArgs(sandbox: SandboxMode): string[] {
  switch (sandbox) {
    case 'read-only':
      return ['--approval-mode', 'default']
    case 'workspace-write':
      // --allowed-tools is deprecated in favour of policy files but still honoured by 0.61.
      return ['--approval-mode', 'auto_edit', '--allowed-tools', shellTool]
    case 'danger-full-access':
      return ['--approval-mode', 'yolo']
  }
}

/** The gateway's default when neither the request nor the session chose: the safest mode. */
export const defaultGeminiSandbox: SandboxMode = 'read-only'
