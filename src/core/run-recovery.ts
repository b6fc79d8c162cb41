import type { AgentRegistry } from '../agents/registry.js'
import { runCompletedWithout } from '../protocol/run-completed.js'
import type { Run } from '../protocol/runs.js'
import type { Store } from '../store/store.js'
import type { EventLog } from './event-log.js'
import type { RunCluster } from './run-cluster.js'
import { recordRunEnd } from './run-record.js'

export interface RunRecoveryContext {
  store: Store
  log: EventLog
  registry: AgentRegistry
  /** The node that takes the runs over. */
  node: string
  cluster?: RunCluster
}

/**
 * Takes over the runs `lost` nodes left unfinished: recorded as `interrupted` (`server_lost` at start,
 * `worker_lost` when a live cluster notices a dead node), orphaned processes on this machine ended. Returns how
 * many.
 */
export async function recoverRuns(
  ctx: RunRecoveryContext,
  lost: readonly string[],
  reason: 'server_lost' | 'worker_lost',
): Promise<number> {
  const left: Run[] = []
  for (const node of lost) {
    const taken = await ctx.store.takeOverRuns([node], ctx.node)
    const local = ctx.cluster?.membership.wasLocal(node) ?? true
    for (const run of taken)
      if (local && run.pid && run.command)
        await ctx.registry.runner.reclaim({ pid: run.pid, command: run.command })
    left.push(...taken)
  }
  for (const run of left) {
    const completed = runCompletedWithout(
      'interrupted',
      reason,
      reason === 'worker_lost'
        ? 'the worker running this run stopped (no heartbeat)'
        : 'the server stopped before this run finished',
      run,
    )
    // as the run's owner now: should this node stall here and be taken for dead in turn, the node that takes the
    // run from it records the end, and this one's late end is refused (not a second run.completed)
    await recordRunEnd(ctx.store, ctx.log, run.id, completed, ctx.node)
  }
  return left.length
}
