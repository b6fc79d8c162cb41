import { afterAll, beforeAll, vi } from 'vitest'

/** Fakes only performance.now() in this test file, so an age can be moved on; timers and I/O stay real. */
export function fakePerformanceOnly(): void {
  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['performance'] })
  })
  afterAll(() => {
    vi.useRealTimers()
  })
}
