import { createRequire } from 'node:module'

/** One metric family as parse-prometheus-text-format returns it (prom2json's shape). */
export interface MetricFamily {
  name: string
  help: string
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
  metrics: {
    value?: string
    labels?: Record<string, string>
    buckets?: Record<string, string>
    count?: string
    sum?: string
  }[]
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => MetricFamily[]

/** Parses exposition text with a real Prometheus text parser (it throws on a malformed line). */
export function parsePrometheus(text: string): Map<string, MetricFamily> {
  return new Map(parse(text).map((f) => [f.name, f]))
}

/** The value of one sample (labels must match exactly the given ones); 0 when the sample is absent. */
export function sample(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name)
  const found = family?.metrics.find((m) => {
    const have = m.labels ?? {}
    return Object.entries(labels).every(([k, v]) => have[k] === v)
  })
  return Number(found?.value ?? found?.count ?? 0)
}
