import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import {
  renderEnvExample,
  renderSettingsTable,
  settingsTableMarkers,
} from '../../src/config/settings-table.js'

it('the README settings table matches the config schema (run `npm run docs:settings`)', () => {
  const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8')
  const [start, end] = settingsTableMarkers
  const table = readme.slice(readme.indexOf(start) + start.length, readme.indexOf(end)).trim()
  expect(readme.indexOf(start)).toBeGreaterThan(-1)
  expect(table).toBe(renderSettingsTable())
})

it('the README opens with the two commands: start the server, run the suite', () => {
  const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8')
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
  expect(firstBlock).toContain('npm ci && npm start')
  expect(firstBlock).toContain('npm ci && npm test')
  expect(readFileSync(path.resolve(import.meta.dirname, '../../.ci/run'), 'utf8')).toContain('npm test')
})

it('.env.example lists every setting at its default (run `npm run docs:settings`)', () => {
  const example = readFileSync(path.resolve(import.meta.dirname, '../../.env.example'), 'utf8')
  expect(example).toBe(renderEnvExample())
  expect(example).toContain('# PORT=8000')
})
