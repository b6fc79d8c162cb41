import type { AgentDriver } from '../agents/driver.js'
import type { AgentRegistry } from '../agents/registry.js'
import type { Config } from '../config/load.js'
import { AppError, orNotFound } from '../protocol/errors.js'
import type { RunCompletedEvent, StoredEvent } from '../protocol/events.js'
import { runCompletedWithout } from '../protocol/run-completed.js'
import { queuedRun, type Run, type RunRequestFields, terminalStatuses } from '../protocol/runs.js'
import { JobNotSent, JobSendUnanswered } from '../store/run-queue.js'
import { type RunFilter, RunTakenOver, type Store } from '../store/store.js'
import { isDiskFull } from '../util/disk-full.js'
import { settledWithin } from '../util/settled-within.js'
import { isStoreBusy } from '../util/store-busy.js'
import { isStoreUnavailable } from '../util/store-unavailable.js'
import type { ActiveRuns } from './active-runs.js'
import { type EndRetry, recordEnd } from './end-retry.js'
import type { EventLog } from './event-log.js'
import { newId } from './ids.js'
import { type HeldRun, NodeRunQueue } from './node-run-queue.js'
import type { OutputValidator } from './output-schema.js'
import { makeOnce } from './request-keys.js'
import { admitRequest, outputValidator, runCapacity, type SubmitOptions } from './run-admission.js'
import type { RunCluster } from './run-cluster.js'
import {
  executeRun,
  finishRun,
  finishRunRetried,
  type RunExecutionContext,
  runFailed,
} from './run-execution.js'
import { recordRunEnd, terminalPatch } from './run-record.js'
import { recoverRuns } from './run-recovery.js'
import { RunRetention } from './run-retention.js'

export type { SubmitOptions }

/**
 * One-shot runs as durable resources: accepted runs are stored (run-admission.ts), queued beyond
 * MAX_CONCURRENT_RUNS (node-run-queue.ts), refused (429) beyond MAX_QUEUED_RUNS, executed through their driver
 * (run-execution.ts), and every event goes through the EventLog (stored, then published). A client leaving never
 * ends a run; cancel() or shutdown() do, wherever in the cluster the run is.
 */
export class RunManager {
  private readonly held: NodeRunQueue
  private readonly execution: RunExecutionContext
  private readonly retention: RunRetention
  private accepting = true
  /**
   * How long a cancel of a run this node runs waits for the store's read before it answers with the run as ended
   * here (202): a frozen PostgreSQL fails the read only after STORE_QUERY_TIMEOUT_SECONDS.
   */
  cancelReadWaitMs = 2_000
  /** Cancels that arrived for runs this node claimed but has not queued yet. */
  private readonly cancelled = new Set<string>()

  constructor(
    private readonly store: Store,
    private readonly log: EventLog,
    private readonly registry: AgentRegistry,
    private readonly config: Config,
    active: ActiveRuns,
    /** The node (this gateway process) that owns the runs it admits. */
    private readonly node: string,
    private readonly cluster?: RunCluster,
    /** How a run's end the store failed to record is tried again, and told (end-retry.ts). */
    private readonly endRetry?: EndRetry,
    /** The tenant whose runs these are (null: the untenanted ones), as their records carry it. */
    private readonly tenant: string | null = null,
  ) {
    this.execution = {
      store,
      log,
      config,
      node,
      ...(cluster ? { cluster } : {}),
      ...(endRetry ? { endRetry } : {}),
    }
    this.held = new NodeRunQueue({
      config,
      active,
      execute: (p) => executeRun(this.execution, p),
      // a queued run's end (cancelled, or the stop's) is retried as an executed one's; the stop's force is final
      finish: (p, completed) =>
        p.forced ? finishRun(this.execution, p, completed) : finishRunRetried(this.execution, p, completed),
    })
    this.retention = new RunRetention(store, config)
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
  recover(lost: readonly string[], reason: 'server_lost' | 'worker_lost' = 'server_lost'): Promise<number> {
    const { store, log, registry, node, cluster } = this
    return recoverRuns({ store, log, registry, node, ...(cluster ? { cluster } : {}) }, lost, reason)
  }

  /** Deletes finished runs older than RUN_RETENTION_DAYS now and then hourly, until stopAccepting(). */
  startRetention(): Promise<void> {
    return this.retention.start()
  }

  /** submit() once per Idempotency-Key `key` (its request's `digest`): see request-keys.ts. */
  async submitOnce(
    key: string,
    digest: string,
    agent: string,
    fields: RunRequestFields,
  ): Promise<{ run: Run; replayed: boolean }> {
    const { made, replayed } = await makeOnce(
      this.store,
      key,
      digest,
      this.config.IDEMPOTENCY_KEY_TTL * 1000,
      {
        prefix: 'run',
        load: (id) => this.store.getRun(id),
        make: (id) => this.submit(agent, fields, { id }),
      },
    )
    return { run: made, replayed }
  }

  async submit(agent: string, fields: RunRequestFields, opts: SubmitOptions = {}): Promise<Run> {
    if (!this.accepting)
      throw new AppError('shutting_down', 'the server is shutting down and accepts no new runs')
    const driver = this.registry.get(agent)
    const { request, validate } = await admitRequest(driver, fields, opts, this.config, this.registry)
    const run = {
      ...queuedRun(opts.id ?? newId('run'), driver.id, request, new Date().toISOString()),
      ...(opts.origin ? { origin: opts.origin } : {}),
    }
    // Admission is one store operation: the count and the insert cannot interleave with another request's; the
    // run's `run.queued` is stored in it (one transaction, not two: docs/benchmarks.md, "Issue 14, session 47").
    // An API node leaves the run unowned: a worker claims it from the queue.
    const dispatch = this.cluster?.role === 'api' && this.cluster.queue
    const owner = dispatch ? null : this.node
    const capacity = await runCapacity(this.config, this.cluster)
    const queued = { ownerId: run.id, event: this.log.redact({ type: 'run.queued' }), at: run.createdAt }
    const admitted = await this.store
      .admitRun(run, owner, capacity, [queued])
      .catch((err: unknown) =>
        isDiskFull(err) ? this.admitWithoutHistory(run, owner, capacity, err) : Promise.reject(err),
      )
    if (!admitted) {
      const { running, queued } = this.held.stats
      throw new AppError(
        'over_capacity',
        `over capacity: ${running} runs running and ${queued} queued (MAX_QUEUED_RUNS); retry later`,
        { retryAfterSeconds: 5 },
      )
    }
    // stored already: the log only hands it on, in its order (nothing of a new run is queued before it)
    await this.log.commitWith(run.id, async () => ({ events: admitted }))
    if (dispatch)
      await dispatch.send(run.id).catch((err: unknown) => {
        this.whenJobNotSent(run.id, err)
        throw err
      })
    else this.enqueue(run, driver, validate, false)
    // the run as stored now (a worker may have taken it already); the run as admitted when that read meets a store
    // that stopped answering meanwhile: it is stored and sent, and a 503 would have the client send it again
    const stored = await this.store.getRun(run.id).catch((err: unknown) => {
      if (isStoreUnavailable(err) || isStoreBusy(err)) return undefined
      throw err
    })
    return stored ?? run
  }

  /**
   * A full disk refused the run with its `run.queued`: admitted alone, as when the two were two writes, so that
   * what a client sees stays the same: 503 storage_full, and the run, when its row still fits, listed and ended
   * failed saying why (endNeverQueued; an API node's unowned run: left to the next start's recovery). Throws `cause`.
   */
  private async admitWithoutHistory(
    run: Run,
    owner: string | null,
    capacity: number,
    cause: unknown,
  ): Promise<never> {
    const admitted = await this.store.admitRun(run, owner, capacity).catch(() => false)
    if (admitted && owner !== null) void this.endNeverQueued(run.id, cause)
    throw cause
  }

  private enqueue(
    run: Run,
    driver: AgentDriver,
    validate: OutputValidator | undefined,
    claimed: boolean,
  ): void {
    const held = this.held.add(run, driver, validate, claimed)
    if (this.cancelled.delete(run.id)) held.controller.abort('cancelled')
  }

  /**
   * Queues here a run this node claimed from the cluster's queue (run-worker.ts picks the manager of the run's
   * tenant). A run this node cannot run (unknown agent, missing image) is recorded as failed.
   */
  async adopt(run: Run): Promise<void> {
    if (!this.accepting) {
      const completed = runCompletedWithout('interrupted', 'shutdown', 'the worker stopped before it started')
      await this.recordClaimedEnd(run.id, completed)
      return
    }
    try {
      const driver = this.registry.get(run.agent)
      this.enqueue(run, driver, outputValidator(driver, run.request.outputSchema), true)
    } catch (err) {
      const completed = runFailed(`this worker cannot run it: ${(err as Error).message}`)
      await this.recordClaimedEnd(run.id, completed)
    }
  }

  /**
   * A run this node admitted whose `run.queued` the store refused: recorded failed, again while the store refuses
   * (end-retry.ts), until stored, taken over, or the stop (the next start's recovery ends it then).
   */
  private async endNeverQueued(runId: string, cause: unknown): Promise<void> {
    const completed = runFailed(`storing its events failed: ${(cause as Error).message}`)
    await recordEnd(
      () => this.recordClaimedEnd(runId, completed),
      { name: `run ${runId}`, ids: { runId } },
      (err) => !(err instanceof RunTakenOver) && this.accepting,
      this.endRetry,
    )
  }

  /**
   * A run whose job's send failed (the request answers 503): a run whose job is known not to be stored is claimed
   * here and recorded failed (no worker would ever be handed it; a worker that claimed it first keeps it). A send
   * the server did not answer in time goes on: its outcome decides (stored: a worker runs the run). A send that ends
   * with its connection lost mid-statement leaves the run queued: its job may be stored (docs/OPERATIONS.md).
   */
  private whenJobNotSent(runId: string, err: unknown): void {
    const end = (cause: unknown) => {
      if (cause instanceof JobNotSent) void this.endUnsent(runId, cause)
    }
    if (err instanceof JobSendUnanswered) err.outcome.catch(end)
    else end(err)
  }

  private async endUnsent(runId: string, cause: JobNotSent): Promise<void> {
    const claimed = await this.store.claimRun(runId, this.node).catch(() => undefined)
    if (!claimed) return
    const completed = runFailed(`${cause.message}; submit it again`)
    await recordEnd(
      () => this.recordClaimedEnd(runId, completed),
      { name: `run ${runId}`, ids: { runId } },
      (err) => !(err instanceof RunTakenOver) && this.accepting,
      this.endRetry,
    )
  }

  /**
   * Records the end of a run this node just claimed and will not run, as its owner: this node may have stalled
   * since the claim, been taken for dead, and the run been taken over and ended by another node (`worker_lost`);
   * that end stays (false, nothing stored), not overwritten and followed by a second `run.completed`.
   */
  private recordClaimedEnd(runId: string, completed: RunCompletedEvent): Promise<boolean> {
    return recordRunEnd(this.store, this.log, runId, completed, this.node)
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
    const local = this.held.finishing(id)
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
    return (await this.cancelAndTell(id, reason)).run
  }

  /**
   * cancel(), telling whether the run answered is its stored record (`stored`) or, for a run this node runs while
   * the store does not answer, the run as this node ended it (its agent's process group gone), its record stored
   * once the store answers again, as the end of a run in flight is.
   */
  async cancelAndTell(
    id: string,
    reason: 'cancelled' | 'client_gone' = 'cancelled',
  ): Promise<{ run: Run; stored: boolean }> {
    // A run this node holds is ended here first, without the store: this manager holds only its own tenant's runs
    // (each tenant has its own), so another tenant's id is not found here and goes the store's way (404).
    const held = this.held.find(id)
    if (held) return this.cancelHere(held, reason)
    return { run: await this.cancelByStore(id, reason), stored: true }
  }

  private async cancelHere(
    held: HeldRun,
    reason: 'cancelled' | 'client_gone',
  ): Promise<{ run: Run; stored: boolean }> {
    held.controller.abort(reason)
    const ended = await Promise.race([held.agentEnded, held.done.then(() => undefined)])
    if (ended) {
      const endedHere = {
        run: {
          ...held.run,
          ...(this.tenant === null ? {} : { tenant: this.tenant }),
          ...terminalPatch(ended),
        },
        stored: false,
      }
      // the store known out (runs' events held through its outage): not asked
      if (this.log.holding) return endedHere
      // the store answers: the run as stored, once its end is; a store that hangs (frozen: its reads fail only
      // after STORE_QUERY_TIMEOUT_SECONDS) or refuses: the run as ended here
      const read = this.store.getRun(held.run.id).then(() => true)
      try {
        if (!(await settledWithin(read, this.cancelReadWaitMs))) {
          read.catch(() => {})
          return endedHere
        }
      } catch (err) {
        if (isStoreUnavailable(err)) return endedHere
        throw err
      }
    }
    return { run: await this.wait(held.run.id), stored: true }
  }

  private async cancelByStore(id: string, reason: 'cancelled' | 'client_gone'): Promise<Run> {
    const run = await this.mustGet(id)
    if (terminalStatuses.has(run.status))
      throw new AppError('conflict', `run ${id} already finished (${run.status})`)
    if (this.cancelLocal(id, reason)) return this.wait(id)
    // Still in the queue: claiming it here keeps every worker from starting it.
    const owner = await this.store.ownerOf(id)
    if (owner === null && (await this.store.claimRun(id, this.node))) {
      const completed = runCompletedWithout('cancelled', 'cancelled', 'cancelled before it started')
      await this.recordClaimedEnd(id, completed)
      return this.mustGet(id)
    }
    const holder = await this.store.ownerOf(id)
    if (holder && holder !== this.node) {
      await this.cluster?.signals?.send(holder, { kind: 'cancel', runId: id, reason })
      // A holder that is gone never ends it: judged by its lock now, its runs are taken over (ended `worker_lost`)
      // at once, not at the next periodic check.
      const { membership, recoverLost } = this.cluster ?? {}
      if (recoverLost && membership && !(await membership.isLiveConfirmed(holder))) await recoverLost()
    }
    return this.wait(id)
  }

  /** Aborts a run this node holds; false when it holds no such run. */
  private cancelLocal(id: string, reason: 'cancelled' | 'client_gone'): boolean {
    const held = this.held.find(id)
    held?.controller.abort(reason)
    return held !== undefined
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
    return this.held.stats
  }

  /**
   * After this node was taken for dead: ends the runs it holds that another node took over (their processes
   * stop; their records stay as that node wrote them). Resolves once they ended; answers how many.
   */
  async dropTakenOver(): Promise<number> {
    const lost: HeldRun[] = []
    for (const p of this.held.held()) if ((await this.store.ownerOf(p.run.id)) !== this.node) lost.push(p)
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
    this.retention.stop()
    this.held.abortQueued('shutdown')
  }

  /** Resolves when every run this manager started is recorded as finished. */
  idle(): Promise<void> {
    return this.held.idle()
  }
}
