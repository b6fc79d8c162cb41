/**
 * The order test files start in, longest first, so the workers finish together (a long file picked up last
 * would run on alone while the other workers idle). Durations (ms by file path) come from an earlier run
 * (test/support/durations.json, `node scripts/test-durations.mjs`); a file not in it (a new one) is estimated
 * by its size at the average speed of the files in it, so a big new e2e file does not end up last.
 */
export interface TestFile {
  /** Relative to the project, as durations.json names it. */
  path: string
  /** Bytes. */
  size: number
}

export function longestFirst<T extends TestFile>(
  files: readonly T[],
  durations: Record<string, number>,
): T[] {
  const known = files.filter((f) => durations[f.path] !== undefined)
  const knownMs = known.reduce((sum, f) => sum + (durations[f.path] ?? 0), 0)
  const knownBytes = known.reduce((sum, f) => sum + f.size, 0)
  const msPerByte = knownBytes > 0 ? knownMs / knownBytes : 1
  const estimate = (f: T) => durations[f.path] ?? f.size * msPerByte
  return [...files].sort((a, b) => estimate(b) - estimate(a) || a.path.localeCompare(b.path))
}
