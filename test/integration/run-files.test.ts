import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { removeDir, tempDir } from '../support/temp.js'

const project = path.resolve(import.meta.dirname, '../..')
const vitest = path.join(project, 'node_modules/vitest/vitest.mjs')
const config = path.join(project, 'test/fixtures/suite-needs/vitest.config.ts')
const dir = tempDir('run-files-')
afterAll(() => removeDir(dir))

/**
 * Global setup decides from the run's test files whether to make the container image and the PostgreSQL
 * template (test/support/suite-needs.ts); it reads them through vitest.state, an experimental API. A real
 * vitest run (with a global setup that only writes down what runFiles() returns) shows it still gives them.
 */
describe('runFiles: the run’s test files in global setup', () => {
  it('are the files vitest runs, the ones a filter selected, before any runs', async () => {
    const out = path.join(dir, 'files.json')
    const env: NodeJS.ProcessEnv = { ...process.env, AGW_RUN_FILES_OUT: out }
    for (const name of Object.keys(env)) if (name.startsWith('VITEST')) delete env[name]
    const child = spawn(process.execPath, [vitest, 'run', '-c', config, 'longest-first'], {
      cwd: project,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk
    })
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect(code, output).toBe(0)
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([
      path.join(project, 'test/unit/longest-first.test.ts'),
    ])
  })
})
