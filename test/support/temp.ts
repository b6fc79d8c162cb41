import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

let ownBase: string | undefined

/**
 * Every test directory lives under one base per worker, so the leak check can find any process a test
 * left behind by its working directory (agents run with cwd inside a test workspace). Under the suite the
 * root is the suite's (AGW_TEST_TMP, removed by its global teardown); a bench or script that uses these
 * helpers on its own gets a base of its own, removed when the process exits.
 */
export function testBase(): string {
  const suiteRoot = process.env.AGW_TEST_TMP
  if (suiteRoot) {
    const base = path.join(suiteRoot, `w${process.pid}`)
    mkdirSync(base, { recursive: true })
    return base
  }
  if (ownBase === undefined) {
    const root = path.join(os.tmpdir(), 'agent-gateway-tests')
    mkdirSync(root, { recursive: true })
    const base = mkdtempSync(path.join(root, `w${process.pid}-`))
    process.once('exit', () => removeDir(base))
    ownBase = base
  }
  mkdirSync(ownBase, { recursive: true })
  return ownBase
}

/**
 * copilot's cache of its unpacked package (COPILOT_PKG_CACHE_HOME), one for the whole suite: copilot unpacks
 * ~235 MB there on its first start (about 2 s of CPU and the writes, 4-14 s on a loaded machine), which a cache
 * per worker paid once per test file (every isolated file is a worker of its own). Under the suite's root (removed
 * by its teardown); a bench or script on its own gets its base's. Copilot unpacks into a directory of its own and
 * renames it to the version's, so two first starts at once both work (each unpacks; the first rename wins).
 */
export function copilotPkgCache(): string {
  return path.join(process.env.AGW_TEST_TMP ?? testBase(), 'copilot-pkg-cache')
}

export function tempDir(prefix = 'tmp-'): string {
  return mkdtempSync(path.join(testBase(), prefix))
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}
