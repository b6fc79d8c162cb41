import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { tempDir } from './temp.js'

/**
 * A CODEX_HOME for tests: telemetry and plugin fetches off, and NO provider. The provider reaches codex only
 * through the gateway's `-c` overrides (CODEX_API_BASE_URL), which is what these tests prove.
 */
export function makeCodexHome(): string {
  const home = tempDir('codex-home-')
  writeFileSync(
    path.join(home, 'config.toml'),
    ['[analytics]', 'enabled = false', '', '[features]', 'plugins = false', 'apps = false', ''].join('\n'),
  )
  return home
}

/** Every file under `dir` (recursively), as absolute paths. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
}

/** Whether some file codex keeps in `codexHome` (its thread rollouts) names `threadId`. */
export function homeKnowsThread(codexHome: string, threadId: string): boolean {
  return filesUnder(path.join(codexHome, 'sessions')).some((f) => readFileSync(f, 'utf8').includes(threadId))
}
