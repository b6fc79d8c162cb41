import type { AgentDriver } from '../agents/driver.js'
import { AppError } from '../protocol/errors.js'
import type { RunCompletedEvent, StoredEvent } from '../protocol/events.js'
import type { RunRequestFields } from '../protocol/runs.js'
import type { SubmitOptions } from './run-admission.js'
import type { RunManager } from './run-manager.js'

/** Refuses early with 503 when the agent is not installed or has no credentials, saying what to do. */
export async function ensureReady(driver: AgentDriver): Promise<void> {
  const status = await driver.probe()
  if (!status.installed)
    throw new AppError('agent_not_installed', status.hint ?? `${driver.id} is not installed`)
  if (!status.authenticated)
    throw new AppError('agent_not_authenticated', status.hint ?? `${driver.id} has no credentials`)
}

/** Follows a submitted run; the caller's signal ends it. */
export type FollowRun = (parent?: AbortSignal) => AsyncGenerator<StoredEvent>

/**
 * A seed route's run: submitted like POST /v1/runs (stored, listed in history, bounded by MAX_CONCURRENT_RUNS
 * and MAX_QUEUED_RUNS, recovered after a crash), so refusals (400, 429, 503) are thrown here, before the
 * route starts answering. The returned function follows its events; as the seeds did, a client that leaves
 * (`parent` aborted, or the route stops reading) ends the run.
 */
export async function startRun(
  runs: RunManager,
  agent: string,
  fields: RunRequestFields,
  opts: SubmitOptions,
): Promise<FollowRun> {
  const { id } = await runs.submit(agent, fields, opts)
  return async function* follow(parent?: AbortSignal) {
    let ended = false
    const end = () => {
      if (!ended) runs.cancel(id, 'client_gone').catch(() => {})
    }
    parent?.addEventListener('abort', end, { once: true })
    if (parent?.aborted) end()
    try {
      for await (const ev of runs.events(id, 0)) {
        if (ev.type === 'run.completed') ended = true
        yield ev
      }
    } finally {
      parent?.removeEventListener('abort', end)
      end()
    }
  }
}

/** Submits a run, follows it to the end, and returns every event plus the completion. */
export async function runToCompletion(
  runs: RunManager,
  agent: string,
  fields: RunRequestFields,
  opts: SubmitOptions,
  parent?: AbortSignal,
): Promise<{ events: StoredEvent[]; completed: RunCompletedEvent }> {
  const follow = await startRun(runs, agent, fields, opts)
  const events: StoredEvent[] = []
  for await (const ev of follow(parent)) events.push(ev)
  const completed = events.findLast((e): e is StoredEvent & RunCompletedEvent => e.type === 'run.completed')
  if (!completed) throw new AppError('internal', `run of ${agent} ended without a run.completed event`)
  return { events, completed }
}
