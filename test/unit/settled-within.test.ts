import { afterEach, describe, expect, it, vi } from 'vitest'
import { settledWithin } from '../../src/util/settled-within.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('settledWithin', () => {
  it('gives what settles in time, and leaves no timer behind', async () => {
    vi.useFakeTimers()
    expect(await settledWithin(Promise.resolve('done'), 2000)).toBe('done')
    expect(vi.getTimerCount()).toBe(0)
  })

  it('gives undefined once the time is up, and passes a rejection through', async () => {
    vi.useFakeTimers()
    const late = settledWithin(new Promise<string>(() => {}), 2000)
    await vi.advanceTimersByTimeAsync(2000)
    expect(await late).toBeUndefined()
    await expect(settledWithin(Promise.reject(new Error('no')), 2000)).rejects.toThrow('no')
    expect(vi.getTimerCount()).toBe(0)
  })
})
