import { afterEach, describe, expect, it, vi } from 'vitest'
import { atClock } from '../../src/util/clock-timer.js'

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('atClock', () => {
  it('calls back only once Date.now() reached the time, though its timer fired before that', async () => {
    const real = Date.now.bind(Date)
    let lag = 0
    vi.spyOn(Date, 'now').mockImplementation(() => real() - lag)
    const due = Date.now() + 20
    const calledAt = new Promise<number>((resolve) => atClock(due, () => resolve(Date.now())))
    // once its timer is armed (for 20 ms), Date.now() falls 10 ms behind the timers' clock: it ends before `due`
    lag = 10
    expect(await calledAt).toBeGreaterThanOrEqual(due)
  })

  it('calls back at once for a time passed, never once cancelled, and leaves no timer', () => {
    vi.useFakeTimers()
    const called: string[] = []
    atClock(Date.now() - 5, () => called.push('passed'))
    const cancel = atClock(Date.now() + 20, () => called.push('cancelled'))
    vi.advanceTimersByTime(0)
    expect(called).toEqual(['passed'])
    cancel()
    vi.advanceTimersByTime(100)
    expect(called).toEqual(['passed'])
    expect(vi.getTimerCount()).toBe(0)
  })
})
