import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { findOnPath } from '../codex-binary.js'

/**
 * Finds copilot's native binary in its platform package (@github/copilot-<platform>-<arch>), skipping the
 * npm loader (`npm-loader.js` spawns it with spawnSync: one more Node process per run). Falls back to the
 * loader, then PATH. An explicit COPILOT_PATH must exist.
 */
export function resolveCopilotBinary(override?: string): string | null {
  if (override) return existsSync(override) ? path.resolve(override) : null
  const require = createRequire(import.meta.url)
  const exe = process.platform === 'win32' ? 'copilot.exe' : 'copilot'
  try {
    // the platform package exports only its binary (`"exports": {".": "./copilot"}`), not package.json
    const native = require.resolve(`@github/copilot-${process.platform}-${process.arch}`)
    if (path.basename(native) === exe && existsSync(native)) return native
  } catch {
    // platform package not installed: fall through to the loader
  }
  try {
    return require.resolve('@github/copilot/npm-loader.js')
  } catch {
    return findOnPath(exe)
  }
}
