import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Every test directory lives under one base per worker, so the leak check can find any process a test
 * left behind by its working directory (agents run with cwd inside a test workspace).
 */
export function testBase(): string {
  const root = process.env.AGW_TEST_TMP ?? path.join(os.tmpdir(), 'agent-gateway-tests')
  const base = path.join(root, `w${process.pid}`)
  mkdirSync(base, { recursive: true })
  return base
}

export function tempDir(prefix = 'tmp-'): string {
  return mkdtempSync(path.join(testBase(), prefix))
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}
