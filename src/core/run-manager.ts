import type { AgentDriver, RunRequest } from '../agents/driver.js'
import type { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import { AppError, orNotFound } from '../protocol/errors.js'
import {
  type AgentEvent,
  assertNever,
  isWorkEvent,
  type RunCompletedEvent,
  type StoredEvent,
} from '../protocol/events.js'
import { runCompletedWithout } from '../protocol/run-completed.js'
import { queuedRun, type Run, type RunRequestFields, terminalStatuses } from '../protocol/runs.js'
import type { RunFilter, Store } from '../store/store.js'
import type { ActiveRuns } from './active-runs.js'
import { checkRunInput } from './cli-policy.js'
import type { EventLog } from './event-log.js'
import { EventPipe } from './event-pipe.js'
import { newId } from './ids.js'
import { ensureReady } from './one-shot.js'
import { effectiveLimits, RunBudget } from './ops/budget.js'
import { compileOutputSchema, type OutputValidator } from './output-schema.js'
import type { RunCluster } from './run-cluster.js'
import { terminalPatch } from './run-record.js'
import { runRequestOf } from './run-request.js'
import { containerPlacement } from './runners.js'
import { checkSandbox } from './sandbox-policy.js'
import { resolveCwd } from './workspace.js'

/** How a route other than POST /v1/runs submits a run on its caller's behalf (the seed routes). */
export interface SubmitOptions {
  /** The route that asked, kept on the run (`POST /chat`); absent for POST /v1/runs. */
  origin?: string
  /** `null`: no time limit (codex.serve without RUN_RESPONSE_TIMEOUT_SECONDS). Default: TIMEOUT_SECONDS. */
  timeoutMs?: number | null
  /** The route built the command itself (codex exec for /api/codex/*): the /run policy does not apply. */
  builtCommand?: boolean
}

interface Pending {
  run: Run
  req: RunRequest
  driver: AgentDriver
  validate: OutputValidator | undefined
  controller: AbortController
  /** Settles when the run is recorded as finished. */
  done: Promise<void>
  markDone: () => void
  /** Taken from the cluster's queue: already claimed by this node. */
  claimed: boolean
}

/**
 * One-shot runs as durable resources: accepted runs are stored, queued beyond MAX_CONCURRENT_RUNS,
 * refused (429) beyond MAX_QUEUED_RUNS, executed through their driver, and every event goes through the
 * EventLog (stored, then published). A client leaving never ends a run; cancel() or shutdown() do.
 */
export class RunManager {
  private readonly queue: Pending[] = []
  private readonly running = new Map<string, Pending>()
  private readonly finished = new Map<string, Promise<void>>()
  private accepting = true
  private retention: NodeJS.Timeout | undefined
  /** Cancels that arrived for runs this node claimed but has not queued yet. */
  private readonly cancelled = new Set<string>()

  constructor(
    private readonly store: Store,
    private readonly log: EventLog,
    private readonly registry: AgentRegistry,
    private readonly config: Config,
    private readonly active: ActiveRuns,
    /** The node (this gateway process) that owns the runs it admits. */
    private readonly node: string,
    private readonly cluster?: RunCluster,
  ) {
    cluster?.signals?.onMessage((message) => {
      if (message.kind === 'cancel' && !this.cancelLocal(message.runId, message.reason ?? 'cancelled')) {
        // Claimed a moment ago and not queued yet: cancelled when it is (forgotten after a minute).
        this.cancelled.add(message.runId)
        setTimeout(() => this.cancelled.delete(message.runId), 60_000).unref()
      }
    })
  }

  /**
   * Takes over the runs `lost` nodes left unfinished: recorded as `interrupted` (`server_lost` at start,
   * `worker_lost` when a live cluster notices a dead node), orphaned processes on this machine ended.
   */
  async recover(
    lost: readonly string[],
    reason: 'server_lost' | 'worker_lost' = 'server_lost',
  ): Promise<number> {
    const left: Run[] = []
    for (const node of lost) {
      const taken = await this.store.takeOverRuns([node], this.node)
      const local = this.cluster?.membership.wasLocal(node) ?? true
      for (const run of taken)
        if (local && run.pid && run.command)
          await this.registry.runner.reclaim({ pid: run.pid, command: run.command })
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
      await this.store.updateRun(run.id, terminalPatch(completed))
      await this.log.append(run.id, completed)
    }
    return left.length
  }

  /** Deletes finished runs older than RUN_RETENTION_DAYS now and then hourly, until stopAccepting(). */
  async startRetention(): Promise<void> {
    const days = this.config.RUN_RETENTION_DAYS
    if (days <= 0) return
    const prune = () =>
      this.store.deleteFinishedBefore(new Date(Date.now() - days * 86_400_000).toISOString())
    await prune()
    this.retention = setInterval(() => void prune().catch(() => {}), 3_600_000)
    this.retention.unref()
  }

  async submit(agent: string, fields: RunRequestFields, opts: SubmitOptions = {}): Promise<Run> {
    if (!this.accepting)
      throw new AppError('shutting_down', 'the server is shutting down and accepts no new runs')
    const driver = this.registry.get(agent)
    if (!opts.builtCommand) checkRunInput(driver.id, fields, this.config, this.registry)
    checkSandbox(fields.sandbox, this.config)
    if (fields.outputSchema && !driver.capabilities.outputSchema)
      throw new AppError('invalid_request', `agent ${driver.id} does not support outputSchema`)
    const validate = fields.outputSchema ? compileOutputSchema(fields.outputSchema) : undefined
    const cwd = resolveCwd(fields.cwd, this.config.workspaceRoots)
    // `isolation`/`image` are checked here; the node that runs it places it (enqueue)
    containerPlacement(fields, this.config)
    const images = fields.images?.map((img) =>
      resolveCwd(img, [cwd, ...this.config.workspaceRoots], { allowFiles: true }),
    )
    await ensureReady(driver)
    const timeoutMs =
      opts.timeoutMs === null
        ? null
        : (opts.timeoutMs ?? fields.timeoutMs ?? this.config.TIMEOUT_SECONDS * 1000)
    const limits = effectiveLimits(fields.limits, this.config)
    const request = {
      ...fields,
      cwd,
      ...(images ? { images } : {}),
      ...(timeoutMs ? { timeoutMs } : {}),
      ...(limits ? { limits } : {}),
    }
    const run = {
      ...queuedRun(newId('run'), driver.id, request, new Date().toISOString()),
      ...(opts.origin ? { origin: opts.origin } : {}),
    }
    // Admission is one store operation: the count and the insert cannot interleave with another request's.
    // An API node leaves the run unowned: a worker claims it from the queue.
    const dispatch = this.cluster?.role === 'api' && this.cluster.queue
    if (!(await this.store.admitRun(run, dispatch ? null : this.node, await this.capacity())))
      throw new AppError(
        'over_capacity',
        `over capacity: ${this.running.size} runs running and ${this.queue.length} queued (MAX_QUEUED_RUNS); retry later`,
        { retryAfterSeconds: 5 },
      )
    await this.log.append(run.id, { type: 'run.queued' })
    if (dispatch) await dispatch.send(run.id)
    else this.enqueue(run, driver, validate, false)
    return (await this.store.getRun(run.id)) ?? run
  }

  /**
   * Unfinished runs the cluster may hold: MAX_QUEUED_RUNS plus MAX_CONCURRENT_RUNS per live node that runs
   * agents (this node alone without a cluster).
   */
  private async capacity(): Promise<number> {
    const runners = this.cluster?.role === 'api' ? await this.cluster.membership.liveRunners() : 1
    return this.config.MAX_QUEUED_RUNS + this.config.MAX_CONCURRENT_RUNS * Math.max(runners, 1)
  }

  private enqueue(
    run: Run,
    driver: AgentDriver,
    validate: OutputValidator | undefined,
    claimed: boolean,
  ): void {
    let markDone!: () => void
    const done = new Promise<void>((resolve) => {
      markDone = resolve
    })
    // checked at admission; a worker without the image refuses it here (the caller records the failure)
    const placement = containerPlacement(run.request, this.config)
    const req = {
      ...runRequestOf(run.request),
      ...(placement ? { ...placement, labels: { run: run.id } } : {}),
    }
    const pending: Pending = {
      run,
      req,
      driver,
      validate,
      controller: this.active.track(),
      done,
      markDone,
      claimed,
    }
    this.finished.set(run.id, done)
    pending.controller.signal.addEventListener('abort', () => this.dequeue(pending), { once: true })
    this.queue.push(pending)
    if (this.cancelled.delete(run.id)) pending.controller.abort('cancelled')
    // Spawning blocks the event loop for a few ms: answer the request first.
    setImmediate(() => this.pump())
  }

  /**
   * Queues here a run this node claimed from the cluster's queue (run-worker.ts picks the manager of the run's
   * tenant). A run this node cannot run (unknown agent, missing image) is recorded as failed.
   */
  async adopt(run: Run): Promise<void> {
    if (!this.accepting) {
      const completed = runCompletedWithout('interrupted', 'shutdown', 'the worker stopped before it started')
      await this.store.updateRun(run.id, terminalPatch(completed))
      await this.log.append(run.id, completed)
      return
    }
    try {
      const driver = this.registry.get(run.agent)
      const schema = run.request.outputSchema
      this.enqueue(run, driver, schema ? compileOutputSchema(schema) : undefined, true)
    } catch (err) {
      const completed = failed(`this worker cannot run it: ${(err as Error).message}`)
      await this.store.updateRun(run.id, terminalPatch(completed))
      await this.log.append(run.id, completed)
    }
  }

  get(id: string): Promise<Run | undefined> {
    return this.store.getRun(id)
  }

  mustGet(id: string): Promise<Run> {
    return orNotFound(this.store.getRun(id), `run ${id}`)
  }

  list(filter: RunFilter): Promise<Run[]> {
    return this.store.listRuns(filter)
  }

  /** Resolves once the run is finished (immediately if it already is), wherever it runs. */
  async wait(id: string): Promise<Run> {
    const local = this.finished.get(id)
    if (local) await local
    else {
      const run = await this.mustGet(id)
      if (!terminalStatuses.has(run.status)) for await (const _ of this.events(id, run.lastSeq));
    }
    return this.mustGet(id)
  }

  /**
   * Ends a run wherever it is: here, waiting in the cluster's queue, or on the node that runs it. `reason` says
   * why (`client_gone`: the seed routes end their run when the client leaves).
   */
  async cancel(id: string, reason: 'cancelled' | 'client_gone' = 'cancelled'): Promise<Run> {
    const run = await this.mustGet(id)
    if (terminalStatuses.has(run.status))
      throw new AppError('conflict', `run ${id} already finished (${run.status})`)
    if (this.cancelLocal(id, reason)) return this.wait(id)
    // Still in the queue: claiming it here keeps every worker from starting it.
    const owner = await this.store.ownerOf(id)
    if (owner === null && (await this.store.claimRun(id, this.node))) {
      const completed = runCompletedWithout('cancelled', 'cancelled', 'cancelled before it started')
      await this.store.updateRun(id, terminalPatch(completed))
      await this.log.append(id, completed)
      return this.mustGet(id)
    }
    const holder = await this.store.ownerOf(id)
    if (holder && holder !== this.node)
      await this.cluster?.signals?.send(holder, { kind: 'cancel', runId: id, reason })
    return this.wait(id)
  }

  /** Aborts a run this node holds; false when it holds no such run. */
  private cancelLocal(id: string, reason: 'cancelled' | 'client_gone'): boolean {
    const pending = this.running.get(id) ?? this.queue.find((p) => p.run.id === id)
    pending?.controller.abort(reason)
    return pending !== undefined
  }

  events(id: string, after: number, signal?: AbortSignal): AsyncGenerator<StoredEvent> {
    return this.log.subscribe(
      id,
      after,
      (ev) => ev.type === 'run.completed',
      async () => terminalStatuses.has((await this.store.getRun(id))?.status ?? 'failed'),
      signal,
    )
  }

  get stats() {
    return { running: this.running.size, queued: this.queue.length }
  }

  /**
   * After this node was taken for dead: ends the runs it holds that another node took over (their processes
   * stop; their records stay as that node wrote them). Resolves once they ended; answers how many.
   */
  async dropTakenOver(): Promise<number> {
    const lost: Pending[] = []
    for (const p of [...this.running.values(), ...this.queue])
      if ((await this.store.ownerOf(p.run.id)) !== this.node) lost.push(p)
    for (const p of lost) p.controller.abort('cancelled')
    await Promise.all(lost.map((p) => p.done))
    return lost.length
  }

  get isAccepting(): boolean {
    return this.accepting
  }

  /** Stop accepting new runs; runs still queued are recorded as interrupted and never start. */
  stopAccepting(): void {
    this.accepting = false
    clearInterval(this.retention)
    for (const p of [...this.queue]) p.controller.abort('shutdown')
  }

  /** Resolves when every run this manager started is recorded as finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.finished.values()])
  }

  private pump(): void {
    while (this.running.size < this.config.MAX_CONCURRENT_RUNS && this.queue.length > 0) {
      const next = this.queue.shift()!
      this.running.set(next.run.id, next)
      void this.execute(next).finally(() => {
        this.running.delete(next.run.id)
        this.settle(next)
        this.pump()
      })
    }
  }

  /** A queued run that is cancelled never starts: it is recorded as cancelled right away. */
  private dequeue(pending: Pending): void {
    const index = this.queue.indexOf(pending)
    if (index === -1) return
    this.queue.splice(index, 1)
    const reason = pending.controller.signal.reason === 'shutdown' ? 'shutdown' : 'cancelled'
    const completed =
      reason === 'shutdown'
        ? runCompletedWithout('interrupted', reason, 'the server shut down before this run started')
        : runCompletedWithout('cancelled', reason, 'cancelled before it started')
    void this.finish(pending, completed).finally(() => this.settle(pending))
  }

  private settle(p: Pending): void {
    this.active.release(p.controller)
    this.finished.delete(p.run.id)
    p.markDone()
  }

  private async execute(p: Pending): Promise<void> {
    // Claiming makes sure no other node (or a second pump) ever executes the same run.
    if (!p.claimed && !(await this.store.claimRun(p.run.id, this.node))) return
    let completed: RunCompletedEvent | undefined
    const budget = new RunBudget(p.run.request.limits, p.controller)
    // Admission checked the cwd; a queued run starts later, and the directory may have been replaced (e.g. by
    // a symlink out of the workspace) meanwhile: confinement must hold when the process starts.
    try {
      resolveCwd(p.req.cwd, this.config.workspaceRoots)
    } catch (err) {
      await this.finish(p, {
        ...failed(`${(err as Error).message}; the run was not started`),
        reason: 'spawn_failed',
      })
      return
    }
    // Events are not awaited one by one: a burst of output is stored in one group commit.
    const events = new EventPipe(this.log, p.run.id)
    try {
      for await (const raw of p.driver.run(p.req, p.controller.signal)) {
        const ev = this.log.redact(raw)
        if (ev.type === 'run.completed') {
          completed = ev
          break
        }
        budget.observe(ev)
        await this.record(p.run.id, ev)
        await events.push(ev)
      }
    } catch (err) {
      completed = failed(`driver error: ${(err as Error).message}`)
    } finally {
      budget.stop()
    }
    // Every event is stored before the run is marked finished.
    await events.drain().catch((err: unknown) => {
      completed ??= failed(`storing its events failed: ${(err as Error).message}`)
    })
    const outcome = completed ?? failed(`${p.driver.id} ended without a run.completed event`)
    await this.finish(p, budget.outcome(outcome))
  }

  /** What an event changes on the stored run (besides being appended to its events). */
  private async record(runId: string, ev: Exclude<AgentEvent, RunCompletedEvent>): Promise<void> {
    if (isWorkEvent(ev)) return
    switch (ev.type) {
      case 'run.started':
        return this.store.updateRun(runId, {
          status: 'running',
          startedAt: new Date().toISOString(),
          pid: ev.pid ?? null,
          command: ev.command ?? null,
        })
      case 'agent.session':
        return this.store.updateRun(runId, { agentSessionId: ev.agentSessionId })
      // a run's own turn and session events change nothing on the run record
      case 'run.queued':
      case 'turn.started':
      case 'turn.completed':
      case 'turn.failed':
      case 'session.status':
        return
      default:
        return assertNever(ev, 'event type')
    }
  }

  private async finish(p: Pending, completed: RunCompletedEvent): Promise<void> {
    // Taken over by another node (this one was taken for dead): the run stays as that node recorded it.
    if (this.cluster?.signals && (await this.store.ownerOf(p.run.id)) !== this.node) return
    const clean = this.log.redact(completed)
    const checked = p.validate && clean.status === 'succeeded' ? p.validate(clean) : clean
    await this.store.updateRun(p.run.id, terminalPatch(checked))
    await this.log.append(p.run.id, checked)
  }
}

const failed = (error: string) => runCompletedWithout('failed', 'exited', error)
