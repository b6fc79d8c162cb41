import type { EndReason } from '../protocol/outcome.js'

/** Every run in flight (durable or not), so shutdown can wait for them and then end them. */
export class ActiveRuns {
  private readonly controllers = new Set<AbortController>()
  private idleWaiters: (() => void)[] = []

  track(): AbortController {
    const controller = new AbortController()
    this.controllers.add(controller)
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
    for (const c of this.controllers) c.abort(reason)
  }

  /** Waits up to `graceMs` for every run to finish, then ends the rest with reason `shutdown`. */
  async drain(graceMs: number): Promise<void> {
    if (this.size === 0) return
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve))
    const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), graceMs).unref())
    if ((await Promise.race([idle, timer])) === 'late') this.abortAll('shutdown')
    await idle
  }
}
