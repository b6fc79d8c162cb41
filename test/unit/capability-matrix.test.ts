import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { capabilityMatrixMarkers, renderCapabilityMatrix } from '../../src/agents/capability-matrix.js'
import { AgentRegistry } from '../../src/agents/registry.js'
import { loadConfig } from '../../src/config/load.js'
import { tempDir } from '../support/temp.js'

it('the README capability matrix matches what the drivers declare (run `npm run docs:capabilities`)', () => {
  const dir = tempDir('caps-')
  const env = { PATH: process.env.PATH, HOME: dir }
  const registry = AgentRegistry.fromConfig(loadConfig(env, dir), env)
  const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8')
  const [start, end] = capabilityMatrixMarkers
  expect(readme.indexOf(start)).toBeGreaterThan(-1)
  const table = readme.slice(readme.indexOf(start) + start.length, readme.indexOf(end)).trim()
  expect(table).toBe(renderCapabilityMatrix(registry.list()))
  expect(table).toContain('`claude`')
})
