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
 * Records a run's end: its record from the run.completed and the event itself, in one transaction (Store.
 * updateRunWithEvents), in the log's order (EventLog.commitWith: after every event appended before), committed at
 * once. Never the one without the other: a store that refuses the end (its disk full) leaves the run `running`,
 * so a reader that comes while the end is tried again (end-retry.ts) follows on and gets the run.completed once
 * it is stored, rather than finding the run finished and its end missing (EventLog.subscribe's grace). With `owner`
 * (a cluster node executing it), only while that node owns the run, checked in the same step: a run another node
 * took over stays as that node recorded it (nothing stored, false).
 */
export async function recordRunEnd(
  store: Store,
  log: EventLog,
  runId: string,
  completed: RunCompletedEvent,
  owner?: string,
): Promise<boolean> {
  const event = log.redact(completed)
  const at = new Date().toISOString()
  const { updated } = await log.commitWith(runId, (tx = store) =>
    tx.updateRunWithEvents(runId, terminalPatch(completed), owner, [
      { ownerId: runId, event, at, fence: owner },
    ]),
  )
  return updated
}
