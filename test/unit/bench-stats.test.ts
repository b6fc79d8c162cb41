import { describe, expect, it } from 'vitest'
import { medianCi } from '../../bench/stats.js'

describe('bench/stats medianCi', () => {
  it('brackets the median by binomial order statistics, also past 1,074 values (0.5 ** n is 0 there)', () => {
    const ranks = (n: number) => medianCi(Array.from({ length: n }, (_, i) => i))
    expect(ranks(10)).toEqual([1, 8])
    expect(ranks(100)).toEqual([39, 60])
    expect(ranks(2000)).toEqual([955, 1044])
    expect(ranks(5)).toBeNull()
  })
})
