import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { removeDir, tempDir } from '../support/temp.js'

const project = path.resolve(import.meta.dirname, '../..')
const vitest = path.join(project, 'node_modules/vitest/vitest.mjs')
const fixtures = 'test/fixtures/state-guard'
const config = path.join(project, fixtures, 'vitest.config.ts')
const dir = tempDir('state-check-')
afterAll(() => removeDir(dir))

interface FileResult {
  status: string
  message: string
}

/** Runs the fixture files a filter picks in one vitest worker of their own; their results by file name. */
async function runFixtures(filter: string) {
  const out = path.join(dir, `${filter}.json`)
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(env)) if (name.startsWith('VITEST')) delete env[name]
  const args = [vitest, 'run', '-c', config, '--reporter=json', `--outputFile=${out}`, filter]
  const child = spawn(process.execPath, args, { cwd: project, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const report = JSON.parse(readFileSync(out, 'utf8')) as { testResults: ({ name: string } & FileResult)[] }
  const files: Record<string, FileResult> = {}
  for (const r of report.testResults) files[path.basename(r.name)] = { status: r.status, message: r.message }
  return { code, files, stderr }
}

const left = (file: string, what: string) => ({
  status: 'failed',
  message: `${fixtures}/${file} left process-wide state changed (put back now): ${what}`,
})

/**
 * test/support/state-check.ts, a setup file of both projects: a test file that leaves a timer function, fake
 * timers, a global, an env variable, a process listener, the exit code or umask changed, or a module mocked,
 * fails by its name, and the next files of the worker (test/unit
 * shares one between files) run on the originals. A real vitest run of fixture files (test/fixtures/state-guard)
 * that each leave one behind, in one worker, with a clean file after them.
 */
describe('the check after each test file', () => {
  it('fails each file that left state behind, naming it and what it left, and puts it back', async () => {
    const { code, files, stderr } = await runFixtures('state-guard')
    expect(code, stderr).toBe(1)
    expect(files, stderr).toEqual({
      'a-spy-after-real-timers.fixture.ts': left(
        'a-spy-after-real-timers.fixture.ts',
        'setTimeout is not the original',
      ),
      'b-env-left.fixture.ts': left('b-env-left.fixture.ts', 'env AGW_STATE_GUARD_FIXTURE added'),
      'c-fake-timers-left.fixture.ts': left(
        'c-fake-timers-left.fixture.ts',
        'fake timers installed (vi.useFakeTimers without vi.useRealTimers)',
      ),
      'd-stub-global-left.fixture.ts': left(
        'd-stub-global-left.fixture.ts',
        'fetch is not the original; globalThis.agwStateGuardFixture added',
      ),
      'e-clock-and-cwd-left.fixture.ts': left(
        'e-clock-and-cwd-left.fixture.ts',
        `Date.now is not the original; cwd changed to ${path.join(project, fixtures)}`,
      ),
      'f-process-listeners-left.fixture.ts': left(
        'f-process-listeners-left.fixture.ts',
        "process 'SIGTERM': 1 listener added; process 'exit': 2 listeners added",
      ),
      'g-exit-code-and-umask-left.fixture.ts': left(
        'g-exit-code-and-umask-left.fixture.ts',
        'process.exitCode set to 3; umask changed to 0o077',
      ),
      'h-module-mock-left.fixture.ts': left(
        'h-module-mock-left.fixture.ts',
        `modules mocked where files share their modules (vi.mock): /${fixtures}/label.ts`,
      ),
      // its own afterAll restores the timers and env before the check runs
      'y-restores-in-after-all.fixture.ts': { status: 'passed', message: '' },
      // after the others in the same worker: real timers, no variable, no stubbed global, no listener, exit code,
      // umask or module loaded with the mock
      'z-clean.fixture.ts': { status: 'passed', message: '' },
    })
  })

  it('passes a file that leaves nothing behind', async () => {
    const { code, files, stderr } = await runFixtures('z-clean')
    expect(files, stderr).toEqual({ 'z-clean.fixture.ts': { status: 'passed', message: '' } })
    expect(code, stderr).toBe(0)
  })
})
