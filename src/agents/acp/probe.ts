import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { codexAuthHint, codexHasCredentials } from '../codex/probe.js'
import { findOnPath } from '../codex-binary.js'
import type { AgentStatus } from '../driver.js'
import type { AcpAgentSpec } from './agent-spec.js'
import { claudeHasCredentials } from './launch.js'

/** The agent's program: an absolute or relative path when it exists, else its name looked up on PATH. */
export function acpBinary(spec: AcpAgentSpec, serverEnv: NodeJS.ProcessEnv): string | null {
  const command = spec.command
  if (!command) return null
  if (path.isAbsolute(command) || command.includes('/')) return existsSync(command) ? command : null
  return findOnPath(command, serverEnv.PATH)
}

/** Whether the agent is installed and has credentials (codex-acp: codex's; claude-agent-acp: Anthropic's). */
export function acpStatus(
  id: string,
  spec: AcpAgentSpec,
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
): AgentStatus {
  const binary = acpBinary(spec, serverEnv)
  const authenticated =
    spec.flavor === 'codex-acp'
      ? codexHasCredentials(config, serverEnv)
      : spec.flavor === 'claude-agent-acp'
        ? claudeHasCredentials(config, serverEnv)
        : true
  const hint = !binary
    ? `${spec.name} is not installed: run \`npm ci\` or name its command in ACP_AGENTS`
    : !authenticated
      ? spec.flavor === 'codex-acp'
        ? codexAuthHint
        : 'claude-agent-acp has no credentials: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for another endpoint)'
      : null
  return { id, installed: binary !== null, version: spec.version, authenticated, hint, binary }
}
