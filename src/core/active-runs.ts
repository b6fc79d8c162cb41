import type { Config } from '../config/load.js'
import type { EndReason } from '../protocol/outcome.js'

/**
 * How long a run or a session turn may take to end after its abort (a stop's, a cancel, an interrupt) before it
 * is ended by force: its processes' SIGTERM-to-SIGKILL grace (KILL_GRACE_MS) and FORCE_END_AFTER_MS more (5 s).
 */
export const endAfterAbortMs = (config: Pick<Config, 'KILL_GRACE_MS' | 'FORCE_END_AFTER_MS'>): number =>
  config.KILL_GRACE_MS + config.FORCE_END_AFTER_MS

/**
 * How a stop ends a run that did not end after its abort (its agent ignored it, or a process that left its tree
 * holds its output open): its end is recorded with `why` (its runner killed its group and tree after the abort).
 * It must settle promptly.
 */
export type ForceEnd = (why: string) => Promise<void>

/** Every run in flight (durable or not), so shutdown can wait for them and then end them. */
export class ActiveRuns {
  private readonly controllers = new Map<AbortController, ForceEnd | undefined>()
  private idleWaiters: (() => void)[] = []

  /** A run in flight; `forceEnd` is how a stop ends it when its abort did not (drain). */
  track(forceEnd?: ForceEnd): AbortController {
    const controller = new AbortController()
    this.controllers.set(controller, forceEnd)
    return controller
  }

  release(controller: AbortController): void {
    this.controllers.delete(controller)
    if (this.controllers.size === 0) for (const wake of this.idleWaiters.splice(0)) wake()
  }

  get size(): number {
    return this.controllers.size
  }

  abortAll(reason: EndReason): void {
    for (const c of this.controllers.keys()) c.abort(reason)
  }

  /**
   * Waits up to `graceMs` for every run to finish, then aborts the rest with reason `shutdown`, and waits up to
   * `endMs` more for them to end. What is still there then is ended by force (its `forceEnd`, which records
   * its end) and no longer waited for: a stop always ends, whatever an agent does.
   */
  async drain(graceMs: number, endMs: number): Promise<void> {
    if (this.size === 0) return
    const idle = new Promise<'idle'>((resolve) => this.idleWaiters.push(() => resolve('idle')))
    const within = (ms: number) =>
      Promise.race([idle, new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), ms).unref())])
    if ((await within(graceMs)) === 'idle') return
    this.abortAll('shutdown')
    if ((await within(endMs)) === 'idle') return
    const why = `the run did not end within ${endMs} ms of the stop's abort; its processes were killed`
    const stuck = [...this.controllers]
    const forced = Promise.all(stuck.map(([, force]) => force?.(why).catch(() => {})))
    // a force that hangs (its store stalled) holds the stop no longer than the wait before it
    await Promise.race([forced, new Promise((resolve) => setTimeout(resolve, endMs).unref())])
    for (const [controller] of stuck) this.release(controller)
  }
}
