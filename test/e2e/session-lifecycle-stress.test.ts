import { describe, expect, it } from 'vitest'
import { gatewayModules } from '../support/gateway.js'
import { runLifecycleStress } from '../support/lifecycle/stress.js'

/**
 * The session lifecycle under random interleavings, CI size: a few seeds of random steps (create, turns with and
 * without ?wait, interrupt, approvals, fork, archive, SSE replay from a random Last-Event-ID, reads) against the
 * real server on a real socket with the real codex and the mock model. No unexpected status, no hang, contiguous
 * replays, every turn ends once, states agree, no approval left pending, no process left. The full version:
 * `npx tsx bench/session-lifecycle-stress.ts --seed N --steps N --sessions N` (LIFECYCLE_SEEDS, LIFECYCLE_STEPS
 * change this one).
 */
const seeds = (process.env.LIFECYCLE_SEEDS ?? '1,2,3').split(',').map(Number)
const steps = Number(process.env.LIFECYCLE_STEPS ?? 150)
/**
 * Approvals nobody answers are declined after 3 s (the bench's default is 8): the steps' own (about 50 ms each) answer
 * most before that, and the turns still queued behind one at the end wait it out, over a third of each seed at 8 s.
 * Timeouts still race the steps' answers and the turns' ends (the final checks: none declined after its turn ended).
 */
const approvalTimeoutSeconds = 3

gatewayModules()

// The seeds at once, each its own gateway and mock model (one after another they took the sum of their times, mostly
// waiting on the model's slow answers and the approvals' timeouts); each checks that none of ITS processes is left.
describe.concurrent('session lifecycle stress', () => {
  for (const seed of seeds)
    it(`seed ${seed}: ${steps} random steps break no invariant`, { timeout: 300_000 }, async () => {
      const report = await runLifecycleStress({ seed, steps, sessions: 4, approvalTimeoutSeconds })
      expect(report.violations).toEqual([])
      // the steps reached the lifecycle, not only its refusals
      expect(report.turns).toBeGreaterThan(10)
      expect(report.statuses[200]).toBeGreaterThan(0)
    })
})
