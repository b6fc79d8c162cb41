import path from 'node:path'
import { afterAll, expect, vi } from 'vitest'
import { captureSlots, captureState, type ProcessState, restoreState } from './process-state.js'

/**
 * After each test file (a setup file: vitest runs it again before every file, also in a worker that shares its
 * modules, and runs its afterAll after the file's own, the hooks running in reverse order): fake timers still
 * installed, or a timer function, clock, fetch, global, env variable or the cwd left changed (process-state.ts)
 * fails the file by name, and is put back, so the next files in the worker do not hang on a fake setTimeout or
 * read another file's settings. The originals are the worker's, taken before its first file.
 */
const originals = Symbol.for('agent-gateway.test.original-slots')
const holder = globalThis as { [originals]?: ReturnType<typeof captureSlots> }
holder[originals] ??= captureSlots()
const atStart: ProcessState = captureState(holder[originals])
const file = path.relative(process.cwd(), expect.getState().testPath ?? 'this test file')

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
  if (left.length === 0) return
  throw new Error(`${file} left process-wide state changed (put back now): ${left.join('; ')}`)
})
