/**
 * How much time each sample of a V8 .cpuprofile stands for (bench/cpu-profile-summary.ts).
 *
 * `delta` (DevTools' rule): the time to the next sample. On a loaded machine the profiler's thread and the sampled
 * one are preempted, so a sample's delta also holds the time the thread waited to run again (or the profiler did):
 * a gap of milliseconds goes to whatever frame happened to be sampled before it, and a function sampled a handful of
 * times can come out at a millisecond per turn (session 44: `addEventListener`, 18 samples of 5,884, 2 of them
 * before gaps over 1 ms, 6.1 % of the time by delta, 0.3 % of the samples).
 * `count`: every sample the same, the mean delta of the profile's (non-idle) samples: the time is shared out by how
 * often each frame was sampled while its thread ran, the total the same as by delta. Read shares from it under load.
 */
export type SampleWeighting = 'delta' | 'count'

export const sampleWeightings: readonly SampleWeighting[] = ['delta', 'count']

export interface SampledProfile {
  samples: number[]
  timeDeltas: number[]
}

/**
 * Each sample's weight in µs: `delta`, the time to the next sample; `count`, the mean of those deltas over the
 * samples `counted` keeps (the idle ones left out), so that both give the same total.
 */
export function sampleWeights(
  profile: SampledProfile,
  weighting: SampleWeighting,
  counted: (sampleIndex: number) => boolean = () => true,
): number[] {
  const deltas = profile.samples.map((_, i) => profile.timeDeltas[i + 1] ?? 0)
  if (weighting === 'delta') return deltas
  let total = 0
  let n = 0
  for (let i = 0; i < deltas.length; i++)
    if (counted(i)) {
      total += deltas[i]!
      n++
    }
  const mean = n > 0 ? total / n : 0
  return deltas.map(() => mean)
}
