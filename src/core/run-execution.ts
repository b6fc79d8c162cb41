import type { Config } from '../config/load.js'
import {
  assertNever,
  isWorkEvent,
  type LifecycleEvent,
  type RunCompletedEvent,
  type RunStartedEvent,
} from '../protocol/events.js'
import { runCompletedWithout } from '../protocol/run-completed.js'
import { NotAMember, RunTakenOver, type Store } from '../store/store.js'
import { type EndRetry, recordEnd } from './end-retry.js'
import type { EventLog } from './event-log.js'
import { EventPipe } from './event-pipe.js'
import type { HeldRun } from './node-run-queue.js'
import { RunBudget } from './ops/budget.js'
import type { RunCluster } from './run-cluster.js'
import { recordRunEnd } from './run-record.js'
import { type StagedImages, stageImages } from './staged-images.js'
import { resolveCwd } from './workspace.js'

export interface RunExecutionContext {
  store: Store
  log: EventLog
  config: Config
  /** The node (this gateway process) that executes the run. */
  node: string
  cluster?: RunCluster
  /** How a run's end the store failed to record is tried again, and told (end-retry.ts). */
  endRetry?: EndRetry
}

/** No claim when this node is not a member (rethrows anything else). */
function unlessNotAMember(err: unknown): undefined {
  if (err instanceof NotAMember) return undefined
  throw err
}

/** A run that failed with `error` (its process exited or never started). */
export const runFailed = (error: string) => runCompletedWithout('failed', 'exited', error)

/**
 * One run through its driver: claimed (unless already), its events redacted and stored as they come (what the
 * driver sends together is stored in one group commit), its budget watched, and its end recorded last.
 */
export async function executeRun(ctx: RunExecutionContext, p: HeldRun): Promise<void> {
  // Claiming makes sure no other node (or a second pump) ever executes the same run. A node taken for dead
  // claims nothing (NotAMember): the run stays queued, its own, and the node that marked it lost takes it over.
  if (!p.claimed && !(await ctx.store.claimRun(p.run.id, ctx.node).catch(unlessNotAMember))) return
  let completed: RunCompletedEvent | undefined
  const budget = new RunBudget(p.run.request.limits, p.controller)
  // Admission checked the cwd; a queued run starts later, and the directory may have been replaced (e.g. by
  // a symlink out of the workspace) meanwhile: confinement must hold when the process starts.
  // Images are read now, from descriptors checked to be files inside the workspace, into private copies.
  let images: StagedImages | undefined
  try {
    resolveCwd(p.req.cwd, ctx.config.workspaceRoots)
    if (p.req.images?.length)
      images = await stageImages(p.req.images, ctx.config.workspaceRoots, ctx.config.DATA_DIR, p.run.id, {
        container: p.req.isolation === 'container',
        maxImageBytes: ctx.config.MAX_IMAGE_BYTES,
      })
  } catch (err) {
    await finishRun(ctx, p, {
      ...runFailed(`${(err as Error).message}; the run was not started`),
      reason: 'spawn_failed',
    })
    return
  }
  // Events are not awaited one by one: a burst of output is stored in one group commit. In a cluster each carries
  // this node: once another node took the run over (this one was taken for dead), the first event refused stops
  // the agent, not only this node's next heartbeat (its fence).
  const owner = ownerCheck(ctx)
  // Any other store error refusing an event stops it too: the run's history would miss what it does from then on.
  const events = new EventPipe(ctx.log, p.run.id, owner, (err) => {
    if (err instanceof RunTakenOver) ctx.cluster?.fencing?.runLetGo(p.run.id, ctx.node, err.owner)
    p.controller.abort('cancelled')
  })
  const req = images ? { ...p.req, images: images.paths } : p.req
  const aborted = new Promise<void>((resolve) => {
    if (p.controller.signal.aborted) resolve()
    else p.controller.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  // A store step of the loop's own (the run made running, its agent session noted) that failed is the store's
  // failure (its database down), as a refused event is: not the driver's.
  let storeFailure: unknown
  const stored = <T>(step: Promise<T>): Promise<T> =>
    step.catch((err: unknown) => {
      storeFailure = err
      throw err
    })
  try {
    for await (const raw of p.driver.run(req, p.controller.signal)) {
      const ev = ctx.log.redact(raw)
      if (ev.type === 'run.completed') {
        completed = ev
        break
      }
      budget.observe(ev)
      // the run made running and its run.started in one commit; refused (taken over), the event goes the pipe's
      // way, whose store refuses it too and stops the agent
      if (ev.type === 'run.started' && (await stored(recordStart(ctx, p.run.id, ev, owner)))) continue
      // work events (the agent's output) change nothing on the run record: no store call, no await
      if (!isWorkEvent(ev)) await stored(recordEvent(ctx, p.run.id, ev, owner))
      const full = events.push(ev)
      // past the bound it waits for the store, unless the run was aborted: its agent is being ended, and what its
      // driver still has (bounded: its queue, the pipes' rest) is taken without waiting, so that its end (its process
      // group gone) is known while the store does not answer (a cancel answers from it: RunManager.cancelHere)
      if (full) await Promise.race([full.catch(() => {}), aborted])
      // an event refused by the store: nothing more of this run can be stored, so its agent stops (leaving the
      // loop ends its process) and the drain below records why
      if (events.failed) break
    }
  } catch (err) {
    const what = err === storeFailure ? 'storing its events failed' : 'driver error'
    completed = runFailed(`${what}: ${(err as Error).message}`)
  } finally {
    budget.stop()
    await images?.dispose()
  }
  // its agent is gone: a cancel waiting for it answers now, however long storing what it wrote takes
  p.markAgentEnded(
    budget.outcome(completed ?? runFailed(`${p.driver.id} ended without a run.completed event`)),
  )
  // Every event is stored before the run is marked finished; nothing more comes, so now, not a loop turn later.
  ctx.log.commitNow()
  await events.drain().catch((err: unknown) => {
    // An event that could not be stored is missing from the run's history: the run did not succeed, whatever its
    // agent said (the drain comes after the agent's own end). A run taken over is the taker's (its end refused).
    completed = runFailed(`storing its events failed: ${(err as Error).message}`)
  })
  const outcome = completed ?? runFailed(`${p.driver.id} ended without a run.completed event`)
  // a run the stop ended by force (ActiveRuns.drain) has its end recorded already
  if (p.forced) return
  await finishRunRetried(ctx, p, budget.outcome(outcome))
}

/**
 * finishRun, again while the store fails (its disk full, its database down: end-retry.ts), so that the run's
 * followers get its end once the store takes writes again, not a run `running` for good; until the stop ends it by
 * force or aborts it (the next start records its end then), or another node took it over.
 */
export async function finishRunRetried(
  ctx: RunExecutionContext,
  p: HeldRun,
  completed: RunCompletedEvent,
): Promise<void> {
  const runId = p.run.id
  await recordEnd(
    () => finishRun(ctx, p, completed),
    { name: `run ${runId}`, ids: { runId } },
    (err) => !(err instanceof RunTakenOver) && !p.forced && p.controller.signal.reason !== 'shutdown',
    ctx.endRetry,
  )
}

/**
 * The run made running, with its `run.started` stored in the same transaction, in the log's order (after the
 * events appended before it): a node stopped or killed between two commits would leave a running run whose
 * history lacks its start. False when the update was refused (another node took the run over: nothing stored).
 */
async function recordStart(
  ctx: RunExecutionContext,
  runId: string,
  ev: RunStartedEvent,
  owner: string | undefined,
): Promise<boolean> {
  const at = new Date().toISOString()
  const patch = {
    status: 'running' as const,
    startedAt: at,
    pid: ev.pid ?? null,
    command: ev.command ?? null,
  }
  // held through a brief store outage, as the run's other events are (EventLog.outageGraceMs)
  const { updated } = await ctx.log.commitWith(
    runId,
    (tx = ctx.store) =>
      tx.updateRunWithEvents(runId, patch, owner, [{ ownerId: runId, event: ev, at, fence: owner }]),
    true,
  )
  return updated
}

/**
 * What an event changes on the stored run (besides being appended to its events): in the log's order, held through
 * a brief store outage as the run's events are (EventLog.outageGraceMs).
 */
async function recordEvent(
  ctx: RunExecutionContext,
  runId: string,
  ev: Exclude<LifecycleEvent, RunCompletedEvent>,
  owner: string | undefined,
): Promise<void> {
  switch (ev.type) {
    case 'agent.session':
      await ctx.log.commitWith(
        runId,
        async (tx = ctx.store) => {
          await tx.updateRun(runId, { agentSessionId: ev.agentSessionId }, owner)
          return { events: [] }
        },
        true,
      )
      return
    // a run's own turn and session events change nothing on the run record; its start is recordStart's
    case 'run.started':
    case 'run.queued':
    case 'turn.started':
    case 'turn.completed':
    case 'turn.steered':
    case 'turn.steer_refused':
    case 'turn.steer_failed':
    case 'turn.failed':
    case 'session.status':
      return
    default:
      return assertNever(ev, 'event type')
  }
}

/** Records the run's end (output-schema checked when it succeeded), unless another node took it over. */
export async function finishRun(
  ctx: RunExecutionContext,
  p: HeldRun,
  completed: RunCompletedEvent,
): Promise<void> {
  p.markAgentEnded(completed)
  const clean = ctx.log.redact(completed)
  const checked = p.validate && clean.status === 'succeeded' ? p.validate(clean) : clean
  // Taken over by another node (this one was taken for dead): the run stays as that node recorded it. The owner
  // is checked in the end's own write, not read before it (a takeover could land in between).
  await recordRunEnd(ctx.store, ctx.log, p.run.id, checked, ownerCheck(ctx))
}

/** In a cluster, a run's writes carry the node that executes it: refused once another node took the run over. */
const ownerCheck = (ctx: RunExecutionContext): string | undefined =>
  ctx.cluster?.signals ? ctx.node : undefined
