import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const root = path.join(import.meta.dirname, '..', '..')
const readJson = (file: string) => JSON.parse(readFileSync(path.join(root, file), 'utf8'))

/**
 * npm 12 runs a dependency's install script only when package.json's `allowScripts` names it (npm 11 warns):
 * a native module left out installs "fine" and fails at run time (better-sqlite3 without its binding). Every
 * package of the lockfile with an install script must be decided, allowed or denied, in package.json.
 */
describe('allowScripts', () => {
  it('decides every dependency with an install script', () => {
    const lock = readJson('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> }
    const allowed =
      (readJson('package.json') as { allowScripts?: Record<string, boolean> }).allowScripts ?? {}
    const withScripts = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript)
      .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length))
    expect(withScripts).toContain('better-sqlite3')
    expect(withScripts.filter((name) => !(name in allowed))).toEqual([])
    expect(allowed['better-sqlite3']).toBe(true)
  })
})
