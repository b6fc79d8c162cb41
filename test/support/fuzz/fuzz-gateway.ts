import { startMockLlm } from '../../mock-llm/index.js'
import { startGateway } from '../gateway.js'
import { operationsOf } from './corpus.js'
import { type FuzzReport, runCorpus } from './run-corpus.js'

/**
 * A gateway for fuzzing: the real codex against the mock model, with small capacity so that valid requests
 * mostly meet 429 instead of each starting an agent (the corpus is about bad input, not agent throughput).
 */
export const fuzzSettings = {
  MAX_CONCURRENT_RUNS: '1',
  MAX_QUEUED_RUNS: '1',
  MAX_QUEUED_TURNS: '2',
  TIMEOUT_SECONDS: '20',
  CODEX_REQUEST_TIMEOUT: '20',
}

/** Starts a mock model and a gateway, sends the corpus over every operation of its /openapi.json, stops both. */
export async function fuzzGateway(opts: {
  count: number
  seed: number
  concurrency: number
  hangMs: number
}) {
  const mock = await startMockLlm()
  const gw = await startGateway(mock, fuzzSettings)
  try {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as Parameters<typeof operationsOf>[0]
    const operations = operationsOf(doc)
    const report: FuzzReport = await runCorpus({ baseUrl: gw.url, operations, ...opts })
    return { report, operations }
  } finally {
    await gw.close()
    await mock.close()
  }
}

/** One line per distinct failure (method, path, problem), with how often it happened. */
export function summarizeFailures(report: FuzzReport, max = 20): string {
  const seen = new Map<string, { n: number; example: string }>()
  for (const f of report.failures) {
    const key = `${f.request.method} ${f.request.url.split('?')[0]}: ${f.problem.slice(0, 200)}`
    const entry = seen.get(key) ?? { n: 0, example: JSON.stringify(f.request).slice(0, 400) }
    entry.n++
    seen.set(key, entry)
  }
  return [...seen]
    .slice(0, max)
    .map(([key, { n, example }]) => `${n}x ${key}\n   e.g. ${example}`)
    .join('\n')
}
