/**
 * The full fuzz corpus: FUZZ_REQUESTS (default 20,000) requests generated from /openapi.json's schemas with
 * mutations, against the real server with the real codex and the mock model. Prints requests per second,
 * the status histogram, where the time went per operation, and every distinct failure (5xx, hang, dropped
 * connection). The CI-sized version is test/e2e/openapi-fuzz.test.ts.
 *
 * Usage: npx tsx bench/fuzz-openapi.ts [--requests N] [--seed N] [--concurrency N]
 * Exits 0 when nothing failed, 1 otherwise.
 */
import { fuzzGateway, summarizeFailures } from '../test/support/fuzz/fuzz-gateway.js'
import { BenchError, benchArgs, intOption } from './options.js'

async function main(): Promise<number> {
  const { values } = benchArgs({
    options: { requests: { type: 'string' }, seed: { type: 'string' }, concurrency: { type: 'string' } },
  })
  const count = intOption(values.requests ?? process.env.FUZZ_REQUESTS, 20_000, 'requests')
  const seed = intOption(values.seed ?? process.env.FUZZ_SEED, 20261201, 'seed', 0)
  const concurrency = intOption(values.concurrency, 8, 'concurrency')
  const { report, operations } = await fuzzGateway({ count, seed, concurrency, hangMs: 60_000 })
  const seconds = report.elapsedMs / 1000
  console.log(`${report.sent} requests over ${operations.length} operations in ${seconds.toFixed(1)} s`)
  console.log(`${(report.sent / seconds).toFixed(0)} requests/s at concurrency ${concurrency}, seed ${seed}`)
  console.log(`statuses: ${JSON.stringify(report.byStatus)}`)
  console.log('slowest operations (total ms / requests):')
  for (const [op, ms] of Object.entries(report.msByOperation)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10))
    console.log(`  ${op}: ${ms} ms / ${report.byOperation[op]}`)
  const failures = summarizeFailures(report, 50)
  console.log(failures ? `FAILURES (${report.failures.length}):\n${failures}` : 'no 5xx, no hang')
  return report.failures.length ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof BenchError ? err.message : err)
    process.exit(err instanceof BenchError ? 2 : 1)
  },
)
