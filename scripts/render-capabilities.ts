import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { capabilityMatrixMarkers, renderCapabilityMatrix } from '../src/agents/capability-matrix.js'
import { AgentRegistry } from '../src/agents/registry.js'
import { loadConfig } from '../src/config/load.js'
import { writeIfChanged } from './write-if-changed.js'

/** `npm run docs:capabilities`: rewrites the capability matrix in README.md from the drivers (if it changed). */
const dir = mkdtempSync(path.join(os.tmpdir(), 'caps-'))
const env = { PATH: process.env.PATH, HOME: dir }
const table = renderCapabilityMatrix(AgentRegistry.fromConfig(loadConfig(env, dir), env).list())
rmSync(dir, { recursive: true, force: true })
const [start, end] = capabilityMatrixMarkers
const readme = readFileSync('README.md', 'utf8')
writeIfChanged(
  'README.md',
  `${readme.slice(0, readme.indexOf(start) + start.length)}\n${table}\n${readme.slice(readme.indexOf(end))}`,
)
