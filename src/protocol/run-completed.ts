import type { RunCompletedEvent } from './events.js'
import type { EndReason, RunEndStatus, Usage } from './outcome.js'
import type { Run } from './runs.js'

/** The ways a `run.completed` event is made: every producer goes through one of these. */

/** A run's status from why its process ended; `ok` says whether a process that exited succeeded. */
export function runStatusOf(reason: EndReason, ok: boolean): RunEndStatus {
  switch (reason) {
    case 'exited':
      return ok ? 'succeeded' : 'failed'
    case 'timed_out':
      return 'timed_out'
    case 'shutdown':
    case 'server_lost':
    case 'worker_lost':
      return 'interrupted'
    case 'spawn_failed':
    case 'budget_exceeded':
      return 'failed'
    case 'cancelled':
    case 'client_gone':
      return 'cancelled'
  }
}

/** How the agent process ended (the process layer's outcome, as data). */
export interface ProcessEnd {
  exitCode: number | null
  signal: string | null
  reason: EndReason
}

/**
 * A run whose process ended: the status follows from the end reason and `ok`; a run that did not succeed
 * carries `error` (the caller's explanation, or the end reason).
 */
export function runCompletedAfter(
  end: ProcessEnd,
  result: { ok: boolean; finalResponse: string | null; usage: Usage | null; error?: string | undefined },
): RunCompletedEvent {
  const status = runStatusOf(end.reason, result.ok)
  const error =
    status === 'succeeded' ? undefined : (endedBecause(end.reason) ?? result.error ?? processEnded(end))
  return {
    type: 'run.completed',
    status,
    exitCode: end.exitCode,
    signal: end.signal,
    reason: end.reason,
    finalResponse: result.finalResponse,
    usage: result.usage,
    ...(error ? { error } : {}),
  }
}

/** Why a process that did not succeed ended, when its driver said nothing more: killed by a signal, or its exit code. */
export function processEnded(end: ProcessEnd): string {
  if (end.signal) return `the agent process was killed (${end.signal}) before it finished`
  if (end.exitCode !== null) return `the agent process exited with code ${end.exitCode}`
  return `process ended: ${end.reason}`
}

/** A run that ended without an agent outcome (never started, stopped while queued, lost by the server). */
export function runCompletedWithout(
  status: Exclude<RunEndStatus, 'succeeded'>,
  reason: EndReason,
  error: string,
  kept: { finalResponse?: string | null; usage?: Usage | null } = {},
): RunCompletedEvent {
  return {
    type: 'run.completed',
    status,
    exitCode: null,
    signal: null,
    reason,
    finalResponse: kept.finalResponse ?? null,
    usage: kept.usage ?? null,
    error,
  }
}

/** A run whose agent could not be started (not installed, no command, setup failed). */
export const runNotStarted = (error: string): RunCompletedEvent =>
  runCompletedWithout('failed', 'spawn_failed', error)

/**
 * The `run.completed` a finished run's record was written from (run-record.ts `terminalPatch`, the other way): a
 * node that died between the record and the event left it unstored, and recovery writes it from the record. A
 * record without a reason (older history) gets the reason its status implies; undefined for an unfinished run.
 */
export function runCompletedFromRecord(run: Run): RunCompletedEvent | undefined {
  if (run.status === 'queued' || run.status === 'running') return undefined
  return {
    type: 'run.completed',
    status: run.status,
    exitCode: run.exitCode,
    signal: run.signal,
    reason: run.reason ?? reasonOfStatus[run.status],
    finalResponse: run.finalResponse,
    usage: run.usage,
    ...(run.result !== undefined ? { result: run.result } : {}),
    ...(run.error !== null ? { error: run.error } : {}),
  }
}

const reasonOfStatus: Record<RunEndStatus, EndReason> = {
  succeeded: 'exited',
  failed: 'exited',
  cancelled: 'cancelled',
  timed_out: 'timed_out',
  interrupted: 'server_lost',
}

/** A run's `error` when something ended it (not the agent itself): says why first, in words. */
export function endedBecause(reason: EndReason): string | undefined {
  switch (reason) {
    case 'cancelled':
      return 'cancelled: the run was cancelled on request'
    case 'client_gone':
      return 'cancelled: the client that started the run disconnected'
    case 'timed_out':
      return 'timed out: the run reached its time limit (timeoutMs, default TIMEOUT_SECONDS) and was ended'
    case 'shutdown':
      return 'interrupted: the server shut down during the run'
    default:
      return undefined
  }
}
