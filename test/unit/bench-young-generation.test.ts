import v8 from 'node:v8'
import { describe, expect, it } from 'vitest'
import { youngGeneration } from '../../bench/young-generation.js'

type Stats = ReturnType<v8.GCProfiler['stop']>
const spaces = (newUsed: number, oldUsed: number, newSize = 16e6) => ({
  heapStatistics: {} as v8.HeapStatistics,
  heapSpaceStatistics: [
    {
      spaceName: 'new_space',
      spaceSize: newSize,
      spaceUsedSize: newUsed,
      spaceAvailableSize: 0,
      physicalSpaceSize: 0,
    },
    {
      spaceName: 'old_space',
      spaceSize: 0,
      spaceUsedSize: oldUsed,
      spaceAvailableSize: 0,
      physicalSpaceSize: 0,
    },
  ],
})

describe('bench/young-generation', () => {
  it('counts the scavenges, the young bytes they found and the old-space growth in them, not a full GC', () => {
    const stats: Stats = {
      version: 1,
      startTime: 0,
      endTime: 1,
      statistics: [
        { gcType: 'Scavenge', cost: 1, beforeGC: spaces(15e6, 10e6, 8e6), afterGC: spaces(2e5, 10.1e6, 8e6) },
        { gcType: 'MarkSweepCompact', cost: 1, beforeGC: spaces(1e6, 30e6), afterGC: spaces(0, 20e6) },
        { gcType: 'Scavenge', cost: 1, beforeGC: spaces(14e6, 20e6), afterGC: spaces(3e5, 20.3e6) },
      ],
    }
    const young = youngGeneration(stats)
    expect(young).toMatchObject({ scavenges: 2, youngBytes: 29e6, newSpaceBytes: 16e6 })
    expect(young.promotedBytes).toBeCloseTo(0.4e6)
  })

  it("reads V8's own profile: a young object kept across scavenges is promoted, garbage is not", () => {
    const profiler = new v8.GCProfiler()
    profiler.start()
    const kept: string[][] = []
    for (let round = 0; round < 40; round++) {
      // garbage: ~1 MB a round, never kept
      for (let i = 0; i < 1000; i++) void `${round}:${i}`.repeat(100).length
      kept.push(Array.from({ length: 1000 }, (_, i) => `kept ${round} ${i}`))
    }
    const young = youngGeneration(profiler.stop())
    expect(young.scavenges).toBeGreaterThan(0)
    expect(young.youngBytes).toBeGreaterThan(0)
    expect(young.promotedBytes).toBeGreaterThan(0)
    expect(young.newSpaceBytes).toBeGreaterThan(0)
    expect(kept).toHaveLength(40)
  })

  it('says nothing of a run without a profile', () => {
    expect(youngGeneration(undefined)).toEqual({
      scavenges: 0,
      youngBytes: 0,
      promotedBytes: 0,
      newSpaceBytes: Number.NaN,
    })
  })
})
