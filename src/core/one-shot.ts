import type { AgentDriver, RunRequest } from '../agents/driver.js'
import { AppError } from '../protocol/errors.js'
import type { AgentEvent, RunCompletedEvent } from '../protocol/events.js'
import type { ActiveRuns } from './active-runs.js'

/** Refuses early with 503 when the agent is not installed or has no credentials, saying what to do. */
export async function ensureReady(driver: AgentDriver): Promise<void> {
  const status = await driver.probe()
  if (!status.installed)
    throw new AppError('agent_not_installed', status.hint ?? `${driver.id} is not installed`)
  if (!status.authenticated)
    throw new AppError('agent_not_authenticated', status.hint ?? `${driver.id} has no credentials`)
}

/**
 * Streams one run's events while registering it as active, so shutdown can end it. The caller aborts
 * `parent` (e.g. client gone) to end the agent's process group.
 */
export async function* streamRun(
  driver: AgentDriver,
  req: RunRequest,
  active: ActiveRuns,
  parent?: AbortSignal,
): AsyncGenerator<AgentEvent> {
  const controller = active.track()
  const onParentAbort = () => controller.abort(parent?.reason)
  parent?.addEventListener('abort', onParentAbort, { once: true })
  try {
    yield* driver.run(req, controller.signal)
  } finally {
    parent?.removeEventListener('abort', onParentAbort)
    active.release(controller)
  }
}

/** Runs to the end and returns every event plus the completion. */
export async function runToCompletion(
  driver: AgentDriver,
  req: RunRequest,
  active: ActiveRuns,
  parent?: AbortSignal,
): Promise<{ events: AgentEvent[]; completed: RunCompletedEvent }> {
  const events: AgentEvent[] = []
  for await (const ev of streamRun(driver, req, active, parent)) events.push(ev)
  const completed = events.findLast((e): e is RunCompletedEvent => e.type === 'run.completed')
  if (!completed) throw new AppError('internal', `${driver.id} ended without a run.completed event`)
  return { events, completed }
}
