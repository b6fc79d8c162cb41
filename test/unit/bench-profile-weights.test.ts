import { describe, expect, it } from 'vitest'
import { sampleWeights } from '../../bench/profile-weights.js'

describe('bench/profile-weights sampleWeights', () => {
  // three samples 50 µs apart, then one the thread was preempted after (a 5 ms gap before the next), then an idle one
  const profile = { samples: [1, 2, 1, 3, 4, 1], timeDeltas: [0, 50, 50, 50, 5000, 50] }
  const idle = (i: number) => profile.samples[i] === 4

  it('by delta, charges the gap after a sample to that sample (DevTools rule)', () => {
    expect(sampleWeights(profile, 'delta')).toEqual([50, 50, 50, 5000, 50, 0])
  })

  it('by count, shares the same total evenly among the samples counted', () => {
    const weights = sampleWeights(profile, 'count', (i) => !idle(i))
    const counted = weights.filter((_, i) => !idle(i))
    expect(new Set(counted).size).toBe(1)
    const byDelta = sampleWeights(profile, 'delta').filter((_, i) => !idle(i))
    expect(counted.reduce((a, b) => a + b, 0)).toBeCloseTo(byDelta.reduce((a, b) => a + b, 0))
    // the preempted sample no longer outweighs the others a hundred times
    expect(weights[3]).toBe(weights[0])
  })
})
