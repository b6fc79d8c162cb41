import type v8 from 'node:v8'

type GcStatistics = ReturnType<v8.GCProfiler['stop']>

/**
 * The scavenges among the collections V8 reported (v8.GCProfiler), and from the heap's spaces before and after each:
 * the bytes the young generation held when it was scavenged (about what was allocated since the last one), the bytes
 * old space grew by in them (what survived twice and was promoted), and the young generation's size at the last one
 * (V8 grows and shrinks it with what survives). Tells a process that scavenged more often, or promoted more, from one
 * whose pauses were only longer (waiting for a core).
 */
export function youngGeneration(stats: GcStatistics | undefined) {
  let scavenges = 0
  let youngBytes = 0
  let promotedBytes = 0
  let newSpaceBytes = Number.NaN
  const used = (spaces: { spaceName: string; spaceUsedSize: number }[], name: string) =>
    spaces.find((s) => s.spaceName === name)?.spaceUsedSize ?? 0
  for (const gc of stats?.statistics ?? []) {
    if (gc.gcType !== 'Scavenge') continue
    const before = gc.beforeGC.heapSpaceStatistics
    const after = gc.afterGC.heapSpaceStatistics
    scavenges++
    youngBytes += used(before, 'new_space') + used(before, 'new_large_object_space')
    promotedBytes += Math.max(0, used(after, 'old_space') - used(before, 'old_space'))
    newSpaceBytes = before.find((s) => s.spaceName === 'new_space')?.spaceSize ?? Number.NaN
  }
  return { scavenges, youngBytes, promotedBytes, newSpaceBytes }
}
