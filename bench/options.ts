/** A bad command-line option of a benchmark: printed as a one-line message, exit code 2. */
export class BenchError extends Error {}

/** An integer option (flag or env value); empty or absent gives `fallback`. */
export function intOption(raw: string | undefined, fallback: number, name: string, minimum = 1): number {
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < minimum)
    throw new BenchError(`--${name} must be an integer >= ${minimum}, got "${raw}"`)
  return n
}
