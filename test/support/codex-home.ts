import { writeFileSync } from 'node:fs'
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
