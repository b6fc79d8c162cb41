import { describe, expect, it } from 'vitest'
import { runLifecycleStress } from '../support/lifecycle/stress.js'

/**
 * The session lifecycle under random interleavings on a cluster, CI size: two gateway processes sharing one
 * PostgreSQL (the real server test/support/postgres.ts starts), each request of a few seeds of random steps sent to
 * one of them at random, so most are forwarded to the session's owner or relayed from it. The invariants of
 * test/e2e/session-lifecycle-stress.test.ts (no unexpected status, no hang, contiguous replays, every turn ends once,
 * states agree, no approval left pending, no process left) and the cluster's: a live SSE follower on the node that
 * does not own the session gets exactly what the store replays, a turn streamed through either node ends with its
 * end, and what a step answered is what both nodes read once it returned. The full version:
 * `npx tsx bench/session-lifecycle-stress.ts --store postgres --nodes 2 --seed N --steps N` (CLUSTER_LIFECYCLE_SEEDS,
 * CLUSTER_LIFECYCLE_STEPS change this one).
 */
const seeds = (process.env.CLUSTER_LIFECYCLE_SEEDS ?? '1,2').split(',').map(Number)
const steps = Number(process.env.CLUSTER_LIFECYCLE_STEPS ?? 60)

// The seeds at once, each its own PostgreSQL server, nodes and mock model; each checks that none of ITS processes is
// left (one after another they took the sum of their times, mostly spent waiting)
describe.concurrent('session lifecycle stress on 2 nodes sharing PostgreSQL', () => {
  for (const seed of seeds)
    it(`seed ${seed}: ${steps} random steps over both nodes${seed % 2 === 0 ? ', one killed halfway,' : ''} break no invariant`, {
      timeout: 300_000,
    }, async () => {
      const killAt = seed % 2 === 0 ? Math.floor(steps / 2) : undefined
      const report = await runLifecycleStress({
        seed,
        steps,
        sessions: 4,
        store: 'postgres',
        nodes: 2,
        killAt,
      })
      if (killAt) expect(report.actions.kill).toBe(1)
      expect(report.violations, report.logs).toEqual([])
      // the steps reached the lifecycle, not only its refusals
      expect(report.turns).toBeGreaterThan(5)
      expect(report.statuses[200]).toBeGreaterThan(0)
    })
})
