/** Small order statistics for the benchmark (no dependencies). */

export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b)
}

/** Median; the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  const s = sorted(values)
  if (s.length === 0) return Number.NaN
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  const s = sorted(values)
  if (s.length === 0) return Number.NaN
  const rank = Math.max(1, Math.ceil((p / 100) * s.length))
  return s[Math.min(rank, s.length) - 1]!
}

/**
 * Distribution-free confidence interval of the median (binomial order statistics, no resampling): the
 * interval [x(k), x(n-k+1)] with the largest k whose coverage is at least `confidence`. Null when there are
 * too few values for that coverage (n < 6 at 95%).
 */
export function medianCi(values: readonly number[], confidence = 0.95): [number, number] | null {
  const s = sorted(values)
  const n = s.length
  const tail = (1 - confidence) / 2
  // P(B <= j) for B ~ Binomial(n, 1/2), summed term by term; the terms in logs (0.5 ** n is 0 from n = 1075 on)
  let logTerm = -n * Math.LN2
  let cumulative = Math.exp(logTerm)
  let k = 0
  for (let j = 0; j < n && cumulative <= tail; j++) {
    k = j + 1
    logTerm += Math.log((n - j) / (j + 1))
    cumulative += Math.exp(logTerm)
  }
  if (k === 0) return null
  return [s[k - 1]!, s[n - k]!]
}

export function min(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.min(...values)
}

export interface Summary {
  median: number
  p90: number
  min: number
}

export function summarize(values: readonly number[]): Summary {
  return { median: median(values), p90: percentile(values, 90), min: min(values) }
}

/** Renders rows as a Markdown table (the first row is the header), columns padded for the terminal. */
export function markdownTable(rows: string[][], alignRight: boolean[] = []): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length)))
  const pad = (cell: string, col: number) =>
    alignRight[col] ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)
  const line = (r: string[]) => `| ${r.map((c, i) => pad(c, i)).join(' | ')} |`
  const rule = `| ${widths.map((w, i) => (alignRight[i] ? `${'-'.repeat(Math.max(w - 1, 0))}:` : '-'.repeat(w))).join(' | ')} |`
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n')
}

/**
 * Runs every mode once per round, forward then reversed in turn (so each follows the others equally often), and
 * keeps each mode's times after the first `warmup` rounds.
 */
export async function interleaved<K extends string>(
  modes: readonly (readonly [K, () => Promise<number>])[],
  warmup: number,
  iterations: number,
): Promise<Record<K, number[]>> {
  const times = Object.fromEntries(modes.map(([name]) => [name, [] as number[]])) as Record<K, number[]>
  for (let i = 0; i < warmup + iterations; i++) {
    const order = i % 2 === 0 ? modes : [...modes].reverse()
    for (const [name, run] of order) {
      const ms = await run()
      if (i >= warmup) times[name].push(ms)
    }
  }
  return times
}

/** A table of modes' wall times in ms: median, p90 and minimum, one row per mode. */
export function timingTable(rows: readonly (readonly [string, readonly number[]])[]): string {
  return markdownTable(
    [
      ['mode', 'median ms', 'p90 ms', 'min ms'],
      ...rows.map(([name, xs]) => [
        name,
        median(xs).toFixed(1),
        percentile(xs, 90).toFixed(1),
        min(xs).toFixed(1),
      ]),
    ],
    [false, true, true, true],
  )
}
