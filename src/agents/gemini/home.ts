import { randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Config } from '../../config/load.js'

/**
 * Where Gemini CLI keeps its settings, chats (what `--resume` reads) and logs: `GEMINI_CLI_HOME` (the
 * directory that holds `.gemini/`) when the server's environment sets it, else `DATA_DIR/gemini`, owned by
 * the gateway, so the operator's own ~/.gemini is neither read nor written.
 */
export function geminiHome(config: Config, serverEnv: NodeJS.ProcessEnv): string {
  return serverEnv.GEMINI_CLI_HOME ?? path.join(config.DATA_DIR, 'gemini')
}

/*
 * Gemini CLI reads an environment file besides its settings: the first `.gemini/.env` (only in a trusted folder)
 * or `.env` found from the cwd up sets every variable its environment lacks (an untrusted folder: only its four
 * auth variables). It does so when it loads the settings, with the workspace untrusted (gemini/driver.ts), and
 * again when it checks the auth type, after `--skip-trust` trusted it: a workspace's `.gemini/.env` then set
 * anything (`GEMINI_WRITE_SYSTEM_MD` wrote outside the workspace). `security.auth.useExternal` skips that check
 * (and with it the second load: the gateway gives the key itself); `advanced.ignoreLocalEnv` keeps the first load
 * to the home's own `.env` (`GEMINI_CLI_HOME/.env`). Both are in the defaults below.
 */

/**
 * The settings the gateway starts a fresh Gemini home with. API-key auth must be selected explicitly: with
 * GOOGLE_GEMINI_BASE_URL set, Gemini CLI would otherwise infer an auth type headless mode rejects. Usage
 * statistics, telemetry and update checks are off (nothing may reach beyond the configured endpoint), and
 * the next-speaker check is skipped (it is an extra model call per turn); no environment file of a workspace
 * (`useExternal`, `ignoreLocalEnv`: above).
 */
export const defaultGeminiSettings = {
  security: { auth: { selectedType: 'gemini-api-key', useExternal: true } },
  privacy: { usageStatisticsEnabled: false },
  telemetry: { enabled: false },
  general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
  model: { skipNextSpeakerCheck: true },
  advanced: { ignoreLocalEnv: true },
}

export const settingsFile = (home: string) => path.join(home, '.gemini', 'settings.json')

/**
 * Writes the default settings unless the home already has a settings file (the operator's is kept, but gets
 * those two keys where it does not set them: a home written before them, or the operator's own; a file
 * Gemini CLI would read with comments is left as it is).
 */
export async function ensureGeminiSettings(home: string): Promise<void> {
  const file = settingsFile(home)
  await mkdir(path.dirname(file), { recursive: true })
  const created = await writeFile(file, `${JSON.stringify(defaultGeminiSettings, null, 2)}\n`, {
    flag: 'wx',
  }).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error
      return false
    },
  )
  if (!created) await addEnvFilesOff(file)
}

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

async function addEnvFilesOff(file: string): Promise<void> {
  let settings: unknown
  try {
    settings = JSON.parse(await readFile(file, 'utf8'))
  } catch {
    return
  }
  if (!isObject(settings)) return
  const security = isObject(settings.security) ? settings.security : {}
  const auth = isObject(security.auth) ? security.auth : {}
  const advanced = isObject(settings.advanced) ? settings.advanced : {}
  if (auth.useExternal !== undefined && advanced.ignoreLocalEnv !== undefined) return
  const updated = {
    ...settings,
    security: { ...security, auth: { useExternal: true, ...auth } },
    advanced: { ignoreLocalEnv: true, ...advanced },
  }
  const temporary = `${file}.${randomUUID()}.tmp`
  await writeFile(temporary, `${JSON.stringify(updated, null, 2)}\n`)
  await rename(temporary, file)
}

/** Whether a chat with this id is stored in the home, in any project (Gemini names the file by its first 8 characters). */
export async function chatExists(home: string, agentSessionId: string): Promise<boolean> {
  const tmp = path.join(home, '.gemini', 'tmp')
  const suffix = `-${agentSessionId.slice(0, 8)}.json`
  for (const project of await readdir(tmp).catch(() => [])) {
    const chats = await readdir(path.join(tmp, project, 'chats')).catch(() => [])
    if (chats.some((f) => f.startsWith('session-') && (f.endsWith(suffix) || f.endsWith(`${suffix}l`))))
      return true
  }
  return false
}
