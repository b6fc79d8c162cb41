import { mkdir, readdir, writeFile } from 'node:fs/promises'
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

/**
 * The settings the gateway starts a fresh Gemini home with. API-key auth must be selected explicitly: with
 * GOOGLE_GEMINI_BASE_URL set, Gemini CLI would otherwise infer an auth type headless mode rejects. Usage
 * statistics, telemetry and update checks are off (nothing may reach beyond the configured endpoint), and
 * the next-speaker check is skipped (it is an extra model call per turn).
 */
export const defaultGeminiSettings = {
  security: { auth: { selectedType: 'gemini-api-key' } },
  privacy: { usageStatisticsEnabled: false },
  telemetry: { enabled: false },
  general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
  model: { skipNextSpeakerCheck: true },
}

export const settingsFile = (home: string) => path.join(home, '.gemini', 'settings.json')

/** Writes the default settings unless the home already has a settings file (the operator's is kept). */
export async function ensureGeminiSettings(home: string): Promise<void> {
  const file = settingsFile(home)
  await mkdir(path.dirname(file), { recursive: true })
  await writeFile(file, `${JSON.stringify(defaultGeminiSettings, null, 2)}\n`, { flag: 'wx' }).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error
    },
  )
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
