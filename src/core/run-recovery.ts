import type { AgentRegistry } from '../agents/registry.js'
import { runCompletedFromRecord, runCompletedWithout } from '../protocol/run-completed.js'
import type { Run } from '../protocol/runs.js'
import { RunTakenOver, type Store } from '../store/store.js'
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
 * `worker_lost` when a live cluster notices a dead node), orphaned processes on this machine ended; and writes the
 * `run.completed` of the runs they recorded finished but died before storing that event (endMissingRuns). Returns
 * how many runs it recorded interrupted.
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
  await endMissingRuns(ctx, lost)
  return left.length
}

/**
 * A node of an earlier version wrote a run's record finished before its `run.completed` (recordRunEnd stores both
 * in one transaction now), so one that died between the two left a run whose stream has no end: its readers waited
 * EventLog.endGraceMs for it, its replays never ended. Such runs of `lost` nodes are taken over and get the event their record was written from, as their
 * owner now (a taker taken for dead in turn has its late write refused), and only if no end is stored by then
 * (two takers write it once). Returns how many ends it wrote.
 */
export async function endMissingRuns(
  ctx: Pick<RunRecoveryContext, 'store' | 'log' | 'node'>,
  lost: readonly string[],
): Promise<number> {
  let written = 0
  for (const run of await ctx.store.takeOverRunsMissingEnd(lost, ctx.node)) {
    const record = runCompletedFromRecord(run)
    if (!record) continue
    const completed = ctx.log.redact(record)
    try {
      const { events } = await ctx.log.commitWith(run.id, async (tx = ctx.store) => {
        const stored = await tx.appendRunEnd(run.id, completed, new Date().toISOString(), ctx.node)
        return { events: stored ? [stored] : [] }
      })
      written += events.length
    } catch (err) {
      // taken from this node in turn (it stalled here and was taken for dead): the run's new owner writes the end
      if (!(err instanceof RunTakenOver)) throw err
    }
  }
  return written
}
