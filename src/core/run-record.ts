import type { RunCompletedEvent } from '../protocol/events.js'
import type { Run } from '../protocol/runs.js'

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
