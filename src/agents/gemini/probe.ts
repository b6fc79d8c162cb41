import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../../config/load.js'
import { packageFile, resolveCliBinary } from '../cli-binary.js'

/** GEMINI_PATH, else the pinned @google/gemini-cli (its `bin` script), else `gemini` on PATH. */
export function resolveGeminiBinary(override?: string): string | null {
  return resolveCliBinary(override, () => packageFile('@google/gemini-cli', 'bundle', 'gemini.js'), 'gemini')
}

/** An API key from the gateway's settings, or a Google login stored in the Gemini home. */
export function geminiHasCredentials(config: Config, home: string): boolean {
  return Boolean(config.GEMINI_API_KEY) || existsSync(path.join(home, '.gemini', 'oauth_creds.json'))
}

export const geminiAuthHint = (home: string) =>
  'gemini has no credentials: set GEMINI_API_KEY (and GOOGLE_GEMINI_BASE_URL for a proxy or gateway), ' +
  `or log in once with \`GEMINI_CLI_HOME=${home} gemini\``
export const geminiInstallHint =
  'gemini is not installed: run `npm ci` (the pinned @google/gemini-cli dev dependency; `--omit=dev` leaves it ' +
  'out) or set GEMINI_PATH to a gemini binary'
