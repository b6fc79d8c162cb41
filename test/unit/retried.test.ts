import { describe, expect, it } from 'vitest'
import { retried, retriedWhile } from '../../src/util/retried.js'
import { WakeSignal } from '../../src/util/wake-signal.js'

/** An attempt that fails `failures` times (with Error(`fail <n>`)), then answers 'ok'. */
function failing(failures: number) {
  let calls = 0
  return {
    attempt: async () => {
      calls++
      if (calls <= failures) throw new Error(`fail ${calls}`)
      return 'ok'
    },
    calls: () => calls,
  }
}

describe('retried', () => {
  it('tries again after each delay, then gives up with undefined', async () => {
    const waits: (number | undefined)[] = []
    const a = failing(5)
    const out = await retried(a.attempt, [1, 2], {
      final: () => false,
      failed: (_e, w) => void waits.push(w),
    })
    expect(out).toBeUndefined()
    expect(a.calls()).toBe(3)
    expect(waits).toEqual([1, 2, undefined])
  })

  it('answers once an attempt succeeds, and throws an error that is final at once', async () => {
    expect(await retried(failing(1).attempt, [1], { final: () => false, failed: () => {} })).toBe('ok')
    const a = failing(5)
    await expect(retried(a.attempt, [1, 1], { final: () => true, failed: () => {} })).rejects.toThrow(
      'fail 1',
    )
    expect(a.calls()).toBe(1)
  })
})

describe('retriedWhile', () => {
  it('repeats the last delay while keepTrying says so, and answers once it succeeds', async () => {
    const waits: (number | undefined)[] = []
    const a = failing(4)
    const out = await retriedWhile(a.attempt, [1, 2], {
      keepTrying: () => true,
      failed: (_e, w) => void waits.push(w),
    })
    expect(out).toBe('ok')
    expect(waits).toEqual([1, 2, 2, 2])
  })

  it('gives up with undefined when keepTrying says no of a failure', async () => {
    const waits: (number | undefined)[] = []
    const a = failing(5)
    const out = await retriedWhile(a.attempt, [1], {
      keepTrying: (err) => (err as Error).message !== 'fail 2',
      failed: (_e, w) => void waits.push(w),
    })
    expect(out).toBeUndefined()
    expect(a.calls()).toBe(2)
    expect(waits).toEqual([1, undefined])
  })

  it('makes no attempt more when keepTrying says no once the wait is over (a stop during the wait)', async () => {
    let stopped = false
    const waits: (number | undefined)[] = []
    const a = failing(5)
    const out = await retriedWhile(
      async () => {
        try {
          return await a.attempt()
        } finally {
          stopped = true // the stop comes while the wait after this failure runs
        }
      },
      [1],
      { keepTrying: () => !stopped || waits.length === 0, failed: (_e, w) => void waits.push(w) },
    )
    expect(out).toBeUndefined()
    expect(a.calls()).toBe(1)
    expect(waits).toEqual([1])
  })
})

describe('retriedWhile with a WakeSignal', () => {
  it('tries again at once when woken, whatever the delay left (an end whose store has room again)', async () => {
    const wake = new WakeSignal()
    const a = failing(1)
    const started = performance.now()
    const out = retriedWhile(a.attempt, [60_000], {
      keepTrying: () => true,
      failed: () => {
        // the wait after the failure has begun once failed() returned: wake it on the next turn
        setImmediate(() => wake.wake())
      },
      delay: (ms) => wake.delay(ms),
    })
    expect(await out).toBe('ok')
    expect(a.calls()).toBe(2)
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(wake.waits).toBe(0)
  })
})
