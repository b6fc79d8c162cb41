import { isDiskFull } from '../util/disk-full.js'

/**
 * What a store last learnt of its disk without writing to find out: a write refused for a full disk (fullDisk:
 * SQLITE_FULL, ENOSPC, PostgreSQL's 53100) marks it full, a write that took room (events stored, a probe) unmarks
 * it. While it is marked, and only then, Store.storageFull checks it with a probe write of its own, so /health
 * writes nothing while the store takes writes, and is not stuck on the mark once space is back and nothing else
 * writes (its 503 may have taken the node out of service).
 */
export class FullDiskMark {
  private since: string | undefined
  /** The probe in flight: one at a time, whoever asks. */
  private probing: Promise<boolean> | undefined
  private readonly cleared = new Set<() => void>()

  /** Calls `listener` each time the mark is cleared: a write took room after one was refused (Store.onSpaceBack). */
  onCleared(listener: () => void): void {
    this.cleared.add(listener)
  }

  /** Notes a failed write: marks the disk full when `err` says it is. */
  refused(err: unknown): void {
    if (isDiskFull(err)) this.since ??= new Date().toISOString()
  }

  /** A write that took room was stored: a mark is cleared, and its listeners told. */
  stored(): void {
    if (this.since === undefined) return
    this.since = undefined
    for (const listener of this.cleared) listener()
  }

  /** When a write was first refused for a full disk since the last one stored; undefined: not marked. */
  get fullSince(): string | undefined {
    return this.since
  }

  /**
   * Whether the disk is full: false at once while unmarked; else `probe` (a write that takes room, undone) says,
   * and unmarks the disk when it is stored. A probe that fails otherwise (the store down) leaves the mark as it is.
   */
  async check(probe: () => Promise<void>): Promise<boolean> {
    if (this.since === undefined) return false
    this.probing ??= probe()
      .then(
        () => {
          this.stored()
          return false
        },
        (err: unknown) => {
          this.refused(err)
          return true
        },
      )
      .finally(() => {
        this.probing = undefined
      })
    return this.probing
  }
}
