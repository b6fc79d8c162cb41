import type { EndReason } from '../protocol/outcome.js'

/** Every run in flight, so shutdown can end them all (recorded as `shutdown`). */
export class ActiveRuns {
  private readonly controllers = new Set<AbortController>()

  /** A controller for a new run; released automatically when `done` settles. */
  track(done?: Promise<unknown>): AbortController {
    const controller = new AbortController()
    this.controllers.add(controller)
    done?.finally(() => this.controllers.delete(controller))
    return controller
  }

  release(controller: AbortController): void {
    this.controllers.delete(controller)
  }

  get size(): number {
    return this.controllers.size
  }

  abortAll(reason: EndReason): void {
    for (const c of this.controllers) c.abort(reason)
  }
}
