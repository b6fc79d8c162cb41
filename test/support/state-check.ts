import path from 'node:path'
import { afterAll, expect, vi } from 'vitest'
import { takeModuleMocks } from './module-mocks.js'
import { captureSlots, captureState, type ProcessState, restoreState } from './process-state.js'

/**
 * After each test file (a setup file: vitest runs it again before every file, also in a worker that shares its
 * modules, and runs its afterAll after the file's own, the hooks running in reverse order): fake timers still
 * installed, or a timer function, clock, fetch, global, env variable, the cwd, a process listener, the exit code
 * or the umask left changed (process-state.ts), or a module mocked where the worker shares its modules
 * (module-mocks.ts), fails the file by name, and is put back, so the next files in the worker do not hang on a
 * fake setTimeout or read another file's settings. The originals are the worker's, taken before its first file.
 */
const originals = Symbol.for('agent-gateway.test.original-slots')
const holder = globalThis as { [originals]?: ReturnType<typeof captureSlots> }
holder[originals] ??= captureSlots()
const atStart: ProcessState = captureState(holder[originals])
const testPath = expect.getState().testPath ?? 'this test file'
const file = path.relative(process.cwd(), testPath)

afterAll(() => {
  // vitest restores every spy after the file; done here first, so what a spy puts back is checked too (a spy
  // on a fake setTimeout restored after vi.useRealTimers() puts the fake back)
  vi.restoreAllMocks()
  const left: string[] = []
  if (vi.isFakeTimers()) {
    left.push('fake timers installed (vi.useFakeTimers without vi.useRealTimers)')
    vi.useRealTimers()
  }
  left.push(...restoreState(atStart))
  const mocked = takeModuleMocks(testPath)
  if (mocked.length > 0)
    left.push(`modules mocked where files share their modules (vi.mock): ${mocked.join(', ')}`)
  if (left.length === 0) return
  throw new Error(`${file} left process-wide state changed (put back now): ${left.join('; ')}`)
})
