import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { findOnPath } from '../codex-binary.js'

/** GEMINI_PATH, else the pinned @google/gemini-cli (its `bin` script), else `gemini` on PATH. */
export function resolveGeminiBinary(override?: string): string | null {
  if (override) return existsSync(override) ? path.resolve(override) : null
  try {
    const pkgJson = createRequire(import.meta.url).resolve('@google/gemini-cli/package.json')
    const bundled = path.join(path.dirname(pkgJson), 'bundle', 'gemini.js')
    if (existsSync(bundled)) return bundled
  } catch {
    // not installed: fall through to PATH
  }
  return findOnPath('gemini')
}

/** An API key from the gateway's settings, or a Google login stored in the Gemini home. */
export function geminiHasCredentials(config: Config, home: string): boolean {
  return Boolean(config.GEMINI_API_KEY) || existsSync(path.join(home, '.gemini', 'oauth_creds.json'))
}

export const geminiAuthHint = (home: string) =>
  'gemini has no credentials: set GEMINI_API_KEY (and GOOGLE_GEMINI_BASE_URL for a proxy or gateway), ' +
  `or log in once with \`GEMINI_CLI_HOME=${home} gemini\``
export const geminiInstallHint =
  'gemini is not installed: run `npm ci` (the pinned @google/gemini-cli dev dependency) or set GEMINI_PATH to a gemini binary'
