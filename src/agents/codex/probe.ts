import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Config } from '../../config/load.js'

/**
 * Whether codex has credentials: a key from the gateway's settings or env, a custom endpoint, a login
 * (auth.json), or a provider configured in CODEX_HOME/config.toml.
 */
export function codexHasCredentials(config: Config, serverEnv: NodeJS.ProcessEnv): boolean {
  if (config.CODEX_API_KEY || config.CODEX_API_BASE_URL || serverEnv.OPENAI_API_KEY) return true
  const home = config.CODEX_HOME ?? path.join(serverEnv.HOME ?? os.homedir(), '.codex')
  if (existsSync(path.join(home, 'auth.json'))) return true
  const configToml = path.join(home, 'config.toml')
  return existsSync(configToml) && /^\s*model_provider\s*=/m.test(readFileSync(configToml, 'utf8'))
}

export const codexAuthHint =
  'codex has no credentials: set CODEX_API_KEY (and CODEX_API_BASE_URL for an OpenAI-compatible endpoint), ' +
  'or run `codex login` for the CODEX_HOME the gateway uses'
export const codexInstallHint =
  'codex is not installed: run `npm ci` (the pinned @openai/codex dependency) or set CODEX_PATH to a codex binary'
