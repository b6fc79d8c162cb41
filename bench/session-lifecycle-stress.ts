/**
 * Random interleavings of the session lifecycle (create, turns with and without ?wait, interrupt, approvals, fork,
 * archive, SSE replay from a random Last-Event-ID, reads) against the real server with the real codex and the mock
 * model; prints every invariant violation. `--store postgres` runs gateway processes on a throwaway PostgreSQL,
 * `--nodes N` N of them sharing it (each request to one at random; live followers on a node that does not own the
 * session). The CI-sized versions are test/e2e/session-lifecycle-stress.test.ts and
 * test/e2e/cluster-lifecycle-stress.test.ts.
 *
 * Usage: npx tsx bench/session-lifecycle-stress.ts [--seed N] [--steps N] [--sessions N] [--slow-ms N]
 *   [--approval-timeout SECONDS] [--store sqlite|postgres] [--nodes N] [--api-nodes N] [--kill-at STEP] [--verbose]
 * `--approval-timeout` is the gateways' APPROVAL_TIMEOUT_SECONDS (8 by default; the CI tests run 3).
 * `--api-nodes N` starts the first N nodes with role api (they forward every session call to a runner).
 * `--kill-at STEP` SIGKILLs a node at that step: the others must take its sessions over, losing nothing.
 * Exits 0 when nothing was violated, 1 otherwise; an end before the report says why on stderr (exit-reasons.ts).
 * SIGINT or SIGTERM closes the gateway nodes and their agents (and the mock model) first, then exits 128 + n; a
 * closing still running after 60 s (or cut by a second signal) kills what the script started before it exits.
 */
import { runLifecycleStress } from '../test/support/lifecycle/stress.js'
import { removeDir, testBase } from '../test/support/temp.js'
import { sayWhyOnExit } from './exit-reasons.js'
import { BenchError, benchArgs, intOption } from './options.js'

// whatever works under its temp base is its own (gateway data, workspaces, codex homes)
const exit = sayWhyOnExit('the lifecycle stress', console.error, { dirs: () => [testBase()] })

async function main(): Promise<number> {
  const { values } = benchArgs({
    options: {
      seed: { type: 'string' },
      steps: { type: 'string' },
      sessions: { type: 'string' },
      'slow-ms': { type: 'string' },
      'approval-timeout': { type: 'string' },
      store: { type: 'string' },
      nodes: { type: 'string' },
      'kill-at': { type: 'string' },
      'api-nodes': { type: 'string' },
      verbose: { type: 'boolean' },
    },
  })
  const seed = intOption(values.seed, 1, 'seed', 0)
  const steps = intOption(values.steps, 200, 'steps')
  const sessions = intOption(values.sessions, 4, 'sessions')
  const slowMs = intOption(values['slow-ms'], 3000, 'slow-ms', 0)
  const approvalTimeoutSeconds = intOption(values['approval-timeout'], 8, 'approval-timeout')
  const store = values.store ?? 'sqlite'
  if (store !== 'sqlite' && store !== 'postgres')
    throw new BenchError(`--store must be sqlite or postgres, got "${store}"`)
  const nodes = intOption(values.nodes, 1, 'nodes')
  if (nodes > 1 && store !== 'postgres') throw new BenchError('--nodes above 1 needs --store postgres')
  const killAt = values['kill-at'] === undefined ? undefined : intOption(values['kill-at'], 0, 'kill-at')
  if (killAt !== undefined && nodes < 2) throw new BenchError('--kill-at needs --nodes 2 or more')
  const apiNodes = intOption(values['api-nodes'], 0, 'api-nodes', 0)
  if (killAt !== undefined && nodes - apiNodes < 2)
    throw new BenchError('--kill-at with --api-nodes needs two nodes that run agents (one survives the kill)')
  if (apiNodes >= nodes)
    throw new BenchError('--api-nodes must leave a node that runs agents (below --nodes)')
  const t0 = Date.now()
  const report = await runLifecycleStress({
    seed,
    steps,
    sessions,
    slowMs,
    approvalTimeoutSeconds,
    store,
    nodes,
    killAt,
    apiNodes,
    log: (line) => {
      // after a signal the servers close under the steps still running: what fails then is no finding
      if (exit.stopping) return
      if (!line.startsWith('VIOLATION')) exit.at(line)
      if (values.verbose || line.startsWith('VIOLATION')) console.log(line)
    },
    closeFirst: exit.closeFirst,
  })
  console.log(
    `seed ${seed} (${store}, ${nodes} node${nodes > 1 ? 's' : ''}): ${steps} steps, ${sessions} sessions at most, ${report.turns} turns in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  )
  console.log(`actions: ${JSON.stringify(report.actions)}`)
  console.log(`statuses: ${JSON.stringify(report.statuses)}`)
  if (nodes > 1) console.log(`cross-node checks: ${JSON.stringify(report.crossNode)}`)
  if (report.logs && values.verbose) console.log(report.logs)
  console.log(report.violations.length ? `${report.violations.length} VIOLATIONS` : 'no violation')
  // the gateway's data, workspaces and codex homes of this run (its processes are gone: the stress checked)
  removeDir(testBase())
  exit.done()
  return report.violations.length ? 1 : 0
}

// after a signal, the signal's exit (128 + n) comes once the closing ended: a step the closing failed meanwhile
// (a request to a gateway gone: `fetch failed`) is no finding, and must not exit 1 under the closing
main().then(
  (code) => {
    if (!exit.stopping) process.exit(code)
  },
  (err) => {
    if (exit.stopping) return
    console.error(err instanceof BenchError ? err.message : err)
    process.exit(err instanceof BenchError ? 2 : 1)
  },
)
