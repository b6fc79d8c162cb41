import type { AgentDriver, RunRequest } from '../agents/driver.js'
import type { Config } from '../config/load.js'
import type { RunCompletedEvent } from '../protocol/events.js'
import { runCompletedWithout } from '../protocol/run-completed.js'
import type { Run } from '../protocol/runs.js'
import type { ActiveRuns } from './active-runs.js'
import type { OutputValidator } from './output-schema.js'
import { runRequestOf } from './run-request.js'
import { containerPlacement } from './runners.js'

/** A run this node holds (queued or running), with what executing it needs. */
export interface HeldRun {
  run: Run
  req: RunRequest
  driver: AgentDriver
  validate: OutputValidator | undefined
  controller: AbortController
  /** Settles when the run is recorded as finished. */
  done: Promise<void>
  markDone: () => void
  /**
   * Settles, with how it ended, once its agent is gone (its process group ended), before its end is stored: a
   * cancel answers from it while the store does not answer (RunManager.cancelHere).
   */
  agentEnded: Promise<RunCompletedEvent>
  markAgentEnded: (completed: RunCompletedEvent) => void
  /** Taken from the cluster's queue: already claimed by this node. */
  claimed: boolean
  /** Ended by the stop's force (ActiveRuns.drain): its end is recorded; its execution records nothing more. */
  forced?: boolean
}

export interface NodeRunQueueContext {
  config: Config
  active: ActiveRuns
  /** Runs a run to its recorded end. */
  execute(held: HeldRun): Promise<void>
  /** Records how a run ended that never started (cancelled or shut down while queued). */
  finish(held: HeldRun, completed: RunCompletedEvent): Promise<void>
}

/**
 * The runs this node holds: queued, then run at most MAX_CONCURRENT_RUNS at a time, in order. A queued run whose
 * controller aborts never starts: it is recorded as cancelled (or interrupted by a shutdown) right away.
 */
export class NodeRunQueue {
  private readonly queue: HeldRun[] = []
  private readonly running = new Map<string, HeldRun>()
  private readonly finished = new Map<string, Promise<void>>()

  constructor(private readonly ctx: NodeRunQueueContext) {}

  /** Queues an admitted (or claimed) run; it starts on the next tick at the earliest. */
  add(run: Run, driver: AgentDriver, validate: OutputValidator | undefined, claimed: boolean): HeldRun {
    let markDone!: () => void
    const done = new Promise<void>((resolve) => {
      markDone = resolve
    })
    let markAgentEnded!: (completed: RunCompletedEvent) => void
    const agentEnded = new Promise<RunCompletedEvent>((resolve) => {
      markAgentEnded = resolve
    })
    // checked at admission; a worker without the image refuses it here (the caller records the failure)
    const placement = containerPlacement(run.request, this.ctx.config)
    const req = {
      ...runRequestOf(run.request),
      ...(placement ? { ...placement, labels: { run: run.id } } : {}),
    }
    const held: HeldRun = {
      run,
      req,
      driver,
      validate,
      controller: this.ctx.active.track((why) => this.forceEnd(held, why)),
      done,
      markDone,
      agentEnded,
      markAgentEnded,
      claimed,
    }
    this.finished.set(run.id, done)
    held.controller.signal.addEventListener('abort', () => this.dequeue(held), { once: true })
    this.queue.push(held)
    // Spawning blocks the event loop for a few ms: answer the request first.
    setImmediate(() => this.pump())
    return held
  }

  /** The run with this id when this node holds it. */
  find(id: string): HeldRun | undefined {
    return this.running.get(id) ?? this.queue.find((p) => p.run.id === id)
  }

  /** Every run this node holds, running ones first. */
  held(): HeldRun[] {
    return [...this.running.values(), ...this.queue]
  }

  /** Settles once the run is recorded as finished; undefined when this node does not hold it. */
  finishing(id: string): Promise<void> | undefined {
    return this.finished.get(id)
  }

  /** Aborts every queued run (they never start). */
  abortQueued(reason: 'shutdown'): void {
    for (const p of [...this.queue]) p.controller.abort(reason)
  }

  /** Resolves when every run this node holds is recorded as finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.finished.values()])
  }

  get stats() {
    return { running: this.running.size, queued: this.queue.length }
  }

  private pump(): void {
    while (this.running.size < this.ctx.config.MAX_CONCURRENT_RUNS && this.queue.length > 0) {
      const next = this.queue.shift()!
      this.running.set(next.run.id, next)
      // a failure nobody waits for (its end not stored: the store failed) must not end the gateway as an unhandled
      // rejection; the run's end was tried again until the stop (finishRunRetried), whose next start records it
      void this.ctx
        .execute(next)
        .catch((err: unknown) => warn(next, err))
        .finally(() => {
          this.running.delete(next.run.id)
          this.settle(next)
          this.pump()
        })
    }
  }

  /** A queued run that is cancelled never starts: it is recorded as cancelled right away. */
  private dequeue(held: HeldRun): void {
    const index = this.queue.indexOf(held)
    if (index === -1) return
    this.queue.splice(index, 1)
    const reason = held.controller.signal.reason === 'shutdown' ? 'shutdown' : 'cancelled'
    const completed =
      reason === 'shutdown'
        ? runCompletedWithout('interrupted', reason, 'the server shut down before this run started')
        : runCompletedWithout('cancelled', reason, 'cancelled before it started')
    held.markAgentEnded(completed)
    void this.ctx
      .finish(held, completed)
      .catch((err: unknown) => warn(held, err))
      .finally(() => this.settle(held))
  }

  /**
   * A run the stop gave up waiting for: its end is recorded (`interrupted`, reason `shutdown`, `why`), and it counts
   * as finished; its execution, still waiting on its agent, records nothing more (executeRun checks `forced`). Its
   * process group and tree were SIGKILLed by its runner KILL_GRACE_MS after the stop's abort (spawn-group.ts):
   * what holds it open escaped them (a daemon in a session of its own), left to the exit sweep.
   */
  private async forceEnd(held: HeldRun, why: string): Promise<void> {
    if (held.forced || !this.finished.has(held.run.id)) return
    held.forced = true
    const completed = runCompletedWithout('interrupted', 'shutdown', why)
    held.markAgentEnded(completed)
    try {
      await this.ctx.finish(held, completed)
    } finally {
      this.settle(held)
    }
  }

  private settle(p: HeldRun): void {
    this.ctx.active.release(p.controller)
    this.finished.delete(p.run.id)
    p.markDone()
  }
}

const warn = (held: HeldRun, err: unknown) =>
  process.emitWarning(`run ${held.run.id}: ${(err as Error)?.message ?? err}`, 'RunFailed')
