import type { RunCompletedEvent } from '../protocol/events.js'
import type { Run } from '../protocol/runs.js'
import type { Store } from '../store/store.js'
import type { EventLog } from './event-log.js'

/** What a run's record becomes when its run.completed arrives: status, outcome, final response, usage. */
export function terminalPatch(c: RunCompletedEvent): Partial<Run> {
  return {
    status: c.status,
    finishedAt: new Date().toISOString(),
    exitCode: c.exitCode,
    signal: c.signal,
    reason: c.reason,
    finalResponse: c.finalResponse,
    usage: c.usage,
    error: c.error ?? null,
    ...(c.result !== undefined ? { result: c.result } : {}),
  }
}

/**
 * Records a run's end: its record from the run.completed, then the event itself (in that order). With `owner`
 * (a cluster node executing it), only while that node owns the run, checked in the write's own step: a run another
 * node took over stays as that node recorded it (nothing stored, false).
 */
export async function recordRunEnd(
  store: Store,
  log: EventLog,
  runId: string,
  completed: RunCompletedEvent,
  owner?: string,
): Promise<boolean> {
  if (!(await store.updateRun(runId, terminalPatch(completed), owner))) return false
  // finished now: a takeover moves only unfinished runs, so this node still owns what the end belongs to (the
  // event carries the owner all the same: every event of a run executed in a cluster does)
  await log.appendNow(runId, completed, owner)
  return true
}
