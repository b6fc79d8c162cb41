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

/** Records a run's end: its record from the run.completed, then the event itself (in that order). */
export async function recordRunEnd(
  store: Store,
  log: EventLog,
  runId: string,
  completed: RunCompletedEvent,
): Promise<void> {
  await store.updateRun(runId, terminalPatch(completed))
  await log.appendNow(runId, completed)
}
