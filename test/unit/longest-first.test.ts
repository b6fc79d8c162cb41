import { describe, expect, it } from 'vitest'
import { longestFirst } from '../support/longest-first.js'

describe('longestFirst: the order test files start in', () => {
  it('puts the files with the longest recorded durations first', () => {
    const files = [
      { path: 'test/unit/a.test.ts', size: 1000 },
      { path: 'test/e2e/b.test.ts', size: 1000 },
      { path: 'test/integration/c.test.ts', size: 1000 },
    ]
    const durations = {
      'test/unit/a.test.ts': 300,
      'test/e2e/b.test.ts': 90_000,
      'test/integration/c.test.ts': 4000,
    }
    expect(longestFirst(files, durations).map((f) => f.path)).toEqual([
      'test/e2e/b.test.ts',
      'test/integration/c.test.ts',
      'test/unit/a.test.ts',
    ])
  })

  it('places a file without a duration by its size, at the average speed of the recorded ones', () => {
    // recorded: 10 ms per byte on average; new.test.ts (5000 bytes) is estimated at 50 s, small.test.ts at 1 s
    const files = [
      { path: 'small.test.ts', size: 100 },
      { path: 'short.test.ts', size: 2000 },
      { path: 'new.test.ts', size: 5000 },
      { path: 'long.test.ts', size: 8000 },
    ]
    const durations = { 'short.test.ts': 2000, 'long.test.ts': 98_000 }
    expect(longestFirst(files, durations).map((f) => f.path)).toEqual([
      'long.test.ts',
      'new.test.ts',
      'short.test.ts',
      'small.test.ts',
    ])
  })

  it('without any durations, goes by size (largest first), then by path', () => {
    const files = [
      { path: 'b.test.ts', size: 10 },
      { path: 'c.test.ts', size: 300 },
      { path: 'a.test.ts', size: 10 },
    ]
    expect(longestFirst(files, {}).map((f) => f.path)).toEqual(['c.test.ts', 'a.test.ts', 'b.test.ts'])
  })
})
