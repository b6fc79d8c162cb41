import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { findOnPath } from '../codex-binary.js'

/** CLAUDE_PATH, else the pinned @anthropic-ai/claude-code (a native binary), else `claude` on PATH. */
export function resolveClaudeBinary(override?: string): string | null {
  if (override) return existsSync(override) ? path.resolve(override) : null
  try {
    const pkgJson = createRequire(import.meta.url).resolve('@anthropic-ai/claude-code/package.json')
    const bin = path.join(path.dirname(pkgJson), 'bin', 'claude.exe')
    if (existsSync(bin)) return bin
  } catch {
    // not installed: fall through to PATH
  }
  return findOnPath('claude')
}

/** A key in the settings or the server env, or a login stored by `claude` (CLAUDE_CONFIG_DIR or ~/.claude). */
export function claudeHasCredentials(config: Config, serverEnv: NodeJS.ProcessEnv): boolean {
  if (config.ANTHROPIC_API_KEY || serverEnv.ANTHROPIC_AUTH_TOKEN || serverEnv.CLAUDE_CODE_OAUTH_TOKEN)
    return true
  const dir = serverEnv.CLAUDE_CONFIG_DIR ?? path.join(serverEnv.HOME ?? os.homedir(), '.claude')
  return existsSync(path.join(dir, '.credentials.json'))
}

export const claudeAuthHint =
  'claude has no credentials: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a proxy or gateway), ' +
  'or run `claude login` for the HOME the gateway uses'
export const claudeInstallHint =
  'claude is not installed: run `npm ci` (the pinned @anthropic-ai/claude-code dependency) or set CLAUDE_PATH'
