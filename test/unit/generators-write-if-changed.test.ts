import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { renderSettingsFiles } from '../../scripts/settings-files.js'
import { writeIfChanged } from '../../scripts/write-if-changed.js'

const root = path.resolve(import.meta.dirname, '../..')
const dir = mkdtempSync(path.join(os.tmpdir(), 'agw-generators-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Sets a file's mtime an hour back: a rewrite, even within the same millisecond, shows as a newer mtime. */
const backdate = (file: string) => {
  const then = new Date(Date.now() - 3_600_000)
  utimesSync(file, then, then)
  return statSync(file).mtimeMs
}

it('writeIfChanged writes a missing or different file and leaves one with the same text alone (its mtime)', () => {
  const file = path.join(dir, 'out.ts')
  expect(writeIfChanged(file, 'a\n')).toBe(true)
  const before = backdate(file)
  expect(writeIfChanged(file, 'a\n')).toBe(false)
  expect(statSync(file).mtimeMs).toBe(before)
  expect(writeIfChanged(file, 'b\n')).toBe(true)
  expect(readFileSync(file, 'utf8')).toBe('b\n')
  expect(statSync(file).mtimeMs).toBeGreaterThan(before)
})

// generate:client (scripts/generate-client.ts) writes through writeIfChanged too; it builds a gateway for its
// OpenAPI document, so it is not run here (test/unit/openapi-document.test.ts checks its output is committed)
it('`npm run docs:settings` run again leaves README.md and .env.example alone when nothing changed', () => {
  const readme = path.join(dir, 'README.md')
  const example = path.join(dir, '.env.example')
  copyFileSync(path.join(root, 'README.md'), readme)
  writeFileSync(example, 'stale\n')
  // the stale one is rewritten; README.md is current
  expect(renderSettingsFiles(dir)).toEqual([example])
  expect(readFileSync(example, 'utf8')).toBe(readFileSync(path.join(root, '.env.example'), 'utf8'))
  const times = [readme, example].map(backdate)
  expect(renderSettingsFiles(dir)).toEqual([])
  expect([readme, example].map((f) => statSync(f).mtimeMs)).toEqual(times)
})
