import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { packageFile, resolveCliBinary } from '../cli-binary.js'
import { claudeHome } from './conversation-file.js'

/** CLAUDE_PATH, else the pinned @anthropic-ai/claude-code (a native binary), else `claude` on PATH. */
export function resolveClaudeBinary(override?: string): string | null {
  return resolveCliBinary(
    override,
    () => packageFile('@anthropic-ai/claude-code', 'bin', 'claude.exe'),
    'claude',
  )
}

/** A key in the settings or the server env, or a login stored by `claude` (CLAUDE_CONFIG_DIR or ~/.claude). */
export function claudeHasCredentials(config: Config, serverEnv: NodeJS.ProcessEnv): boolean {
  if (config.ANTHROPIC_API_KEY || serverEnv.ANTHROPIC_AUTH_TOKEN || serverEnv.CLAUDE_CODE_OAUTH_TOKEN)
    return true
  return existsSync(path.join(claudeHome(serverEnv), '.credentials.json'))
}

export const claudeAuthHint =
  'claude has no credentials: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a proxy or gateway), ' +
  'or run `claude login` for the HOME the gateway uses'
export const claudeInstallHint =
  'claude is not installed: run `npm ci` (the pinned @anthropic-ai/claude-code dev dependency; `--omit=dev` leaves ' +
  'it out) or set CLAUDE_PATH to a claude binary'
