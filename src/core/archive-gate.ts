import { AppError } from '../protocol/errors.js'

/**
 * A session's archive against its turn starts and forks on this node: while it archives, new ones are refused
 * (409), and it begins once those in flight settled, so its own steps see every turn they started (and end it
 * before `archived`). Without it, a turn that started while the archive ran stored its events after `archived`,
 * where no stream delivers them, or failed reopening a thread codex had archived; a fork answered codex's 400.
 */
export class ArchiveGate {
  private readonly archiving = new Map<string, number>()
  private readonly inFlight = new Map<string, Set<Promise<unknown>>>()

  /** `work` (a turn start, a fork) for session `id`: refused while it is archived here, else tracked until done. */
  async track<T>(id: string, work: () => Promise<T>): Promise<T> {
    if (this.archiving.has(id)) throw new AppError('conflict', `session ${id} is being archived`)
    const running = work()
    const tracked = this.inFlight.get(id) ?? new Set()
    this.inFlight.set(id, tracked)
    tracked.add(running)
    const done = () => {
      tracked.delete(running)
      if (tracked.size === 0 && this.inFlight.get(id) === tracked) this.inFlight.delete(id)
    }
    running.then(done, done)
    return running
  }

  /** Runs `archive` with new starts refused, once the starts in flight settled. */
  async archive<T>(id: string, archive: () => Promise<T>): Promise<T> {
    this.archiving.set(id, (this.archiving.get(id) ?? 0) + 1)
    try {
      await Promise.allSettled([...(this.inFlight.get(id) ?? [])])
      return await archive()
    } finally {
      const left = (this.archiving.get(id) ?? 1) - 1
      if (left > 0) this.archiving.set(id, left)
      else this.archiving.delete(id)
    }
  }
}
