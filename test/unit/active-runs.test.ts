import { describe, expect, it } from 'vitest'
import { ActiveRuns } from '../../src/core/active-runs.js'

describe('ActiveRuns.drain', () => {
  it('a run that ends at its abort is not forced', async () => {
    const active = new ActiveRuns()
    const forced: string[] = []
    const c = active.track(async (why) => {
      forced.push(why)
    })
    c.signal.addEventListener('abort', () => active.release(c))
    await active.drain(0, 60_000)
    expect({ reason: c.signal.reason, forced, size: active.size }).toEqual({
      reason: 'shutdown',
      forced: [],
      size: 0,
    })
  })

  it('a run that ignores its abort is ended by force after endMs, and the drain ends', async () => {
    const active = new ActiveRuns()
    const forced: string[] = []
    active.track(async (why) => {
      forced.push(why)
    })
    // no forceEnd (a session turn): no longer waited for either
    active.track()
    await active.drain(0, 10)
    expect(forced).toEqual([
      "the run did not end within 10 ms of the stop's abort; its processes were killed",
    ])
    expect(active.size).toBe(0)
  })

  it('a force that never settles holds the drain no longer than endMs', async () => {
    const active = new ActiveRuns()
    active.track(() => new Promise<void>(() => {}))
    await active.drain(0, 10)
    expect(active.size).toBe(0)
  })
})
