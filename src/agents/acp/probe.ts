import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { codexAuthHint, codexHasCredentials } from '../codex/probe.js'
import { findOnPath } from '../codex-binary.js'
import { copilotAuthHint, copilotHasCredentials } from '../copilot/env.js'
import type { AgentStatus } from '../driver.js'
import { geminiHome } from '../gemini/home.js'
import { geminiAuthHint, geminiHasCredentials } from '../gemini/probe.js'
import type { AcpAgentSpec } from './agent-spec.js'

/** The agent's program: an absolute or relative path when it exists, else its name looked up on PATH. */
export function acpBinary(spec: AcpAgentSpec, serverEnv: NodeJS.ProcessEnv): string | null {
  const command = spec.command
  if (!command) return null
  if (path.isAbsolute(command) || command.includes('/')) return existsSync(command) ? command : null
  return findOnPath(command, serverEnv.PATH)
}

/** Whether the agent is installed and has credentials (codex-acp: codex's; claude-agent-acp: Anthropic's; gemini, copilot: their drivers'). */
export function acpStatus(
  id: string,
  spec: AcpAgentSpec,
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
): AgentStatus {
  const binary = acpBinary(spec, serverEnv)
  const { authenticated, authHint } = credentialsOf(spec, config, serverEnv)
  const hint = !binary
    ? `${spec.name} is not installed: run \`npm ci\` or name its command in ACP_AGENTS`
    : authenticated
      ? null
      : authHint
  return { id, installed: binary !== null, version: spec.version, authenticated, hint, binary }
}

/** The preset's credentials, as its native driver checks them (a custom agent: unknown, so assumed). */
function credentialsOf(
  spec: AcpAgentSpec,
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
): { authenticated: boolean; authHint: string } {
  switch (spec.flavor) {
    case 'codex-acp':
      return { authenticated: codexHasCredentials(config, serverEnv), authHint: codexAuthHint }
    case 'claude-agent-acp':
      return {
        authenticated: claudeHasCredentials(config, serverEnv),
        authHint:
          'claude-agent-acp has no credentials: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for another endpoint)',
      }
    case 'gemini': {
      const home = geminiHome(config, serverEnv)
      return { authenticated: geminiHasCredentials(config, home), authHint: geminiAuthHint(home) }
    }
    case 'copilot':
      return { authenticated: copilotHasCredentials(config, serverEnv), authHint: copilotAuthHint }
    case 'custom':
      return { authenticated: true, authHint: '' }
  }
}

/**
 * Whether claude-agent-acp has credentials, where that is knowable without starting it. Here, not in launch.ts:
 * the probe runs at start, the launch's modules load with the first run (docs/ARCHITECTURE.md, "Start").
 */
function claudeHasCredentials(config: Config, serverEnv: NodeJS.ProcessEnv): boolean {
  return Boolean(
    config.ANTHROPIC_API_KEY ||
      serverEnv.ANTHROPIC_API_KEY ||
      serverEnv.ANTHROPIC_AUTH_TOKEN ||
      serverEnv.CLAUDE_CODE_OAUTH_TOKEN,
  )
}
