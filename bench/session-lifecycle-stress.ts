/**
 * Random interleavings of the session lifecycle (create, turns with and without ?wait, interrupt, approvals, fork,
 * archive, SSE replay from a random Last-Event-ID, reads) against the real server with the real codex and the mock
 * model; prints every invariant violation. The CI-sized version is test/e2e/session-lifecycle-stress.test.ts.
 *
 * Usage: npx tsx bench/session-lifecycle-stress.ts [--seed N] [--steps N] [--sessions N] [--slow-ms N] [--verbose]
 * Exits 0 when nothing was violated, 1 otherwise.
 */
import { runLifecycleStress } from '../test/support/lifecycle/stress.js'
import { removeDir, testBase } from '../test/support/temp.js'
import { BenchError, benchArgs, intOption } from './options.js'

async function main(): Promise<number> {
  const { values } = benchArgs({
    options: {
      seed: { type: 'string' },
      steps: { type: 'string' },
      sessions: { type: 'string' },
      'slow-ms': { type: 'string' },
      verbose: { type: 'boolean' },
    },
  })
  const seed = intOption(values.seed, 1, 'seed', 0)
  const steps = intOption(values.steps, 200, 'steps')
  const sessions = intOption(values.sessions, 4, 'sessions')
  const slowMs = intOption(values['slow-ms'], 3000, 'slow-ms', 0)
  const t0 = Date.now()
  const report = await runLifecycleStress({
    seed,
    steps,
    sessions,
    slowMs,
    log: (line) => {
      if (values.verbose || line.startsWith('VIOLATION')) console.log(line)
    },
  })
  console.log(
    `seed ${seed}: ${steps} steps, ${sessions} sessions at most, ${report.turns} turns in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  )
  console.log(`actions: ${JSON.stringify(report.actions)}`)
  console.log(`statuses: ${JSON.stringify(report.statuses)}`)
  console.log(report.violations.length ? `${report.violations.length} VIOLATIONS` : 'no violation')
  // the gateway's data, workspaces and codex homes of this run (its processes are gone: the stress checked)
  removeDir(testBase())
  return report.violations.length ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof BenchError ? err.message : err)
    process.exit(err instanceof BenchError ? 2 : 1)
  },
)
