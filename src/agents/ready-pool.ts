import type { WarmPoolCounts } from './driver.js'

interface Ready<T> {
  readonly key: string
  readonly item: Promise<T | null>
  readonly timer: NodeJS.Timeout
}

/**
 * Things made ahead of time (an ACP session, a codex thread) for the next one-shot runs of a key: such a run
 * then finds its session or thread open. Each serves one run at most, so every run starts with no history.
 * Up to `perKey` wait for one key (with 2, a run sent right after another still finds one made while the
 * one before it ran); one waits at most `keepMs`, then it is released; at most `max` wait in all (the oldest
 * goes first). A thing whose making failed is dropped. With `laterMs`, only a key that has none waiting gets
 * one at once; the rest of its `perKey` are made `laterMs` after, so a run sent right after the one that asked
 * (a script's next run) finds one waiting without sharing the cores with the making of the others.
 */
export class ReadyPool<T> implements WarmPoolCounts {
  /** What waits for each key, oldest first. */
  private readonly byKey = new Map<string, Ready<T>[]>()
  /** Everything that waits, oldest first. */
  private readonly all = new Set<Ready<T>>()
  /** Keys whose fill up to `perKey` is due `laterMs` from now. */
  private readonly later = new Map<string, NodeJS.Timeout>()
  private closed = false
  /** Things made ahead so far, and runs they served. */
  started = 0
  served = 0

  constructor(
    private readonly keepMs: number,
    /** Lets go of a thing nobody took (its keep-alive ended, the pool is full or closing). */
    private readonly release: (item: T) => Promise<void>,
    private readonly max = 2,
    private readonly perKey = 1,
    private readonly laterMs = 0,
  ) {}

  /** Things made or being made that wait for their run now. */
  get waiting(): number {
    return this.all.size
  }

  /**
   * Takes the oldest thing made for `key` (nobody else gets it), if one is there or on its way and still
   * `usable`; one whose making failed is passed over, one no longer usable is released (not awaited) and
   * passed over.
   */
  async take(key: string, usable: (item: T) => boolean = () => true): Promise<T | null> {
    for (let r = this.byKey.get(key)?.[0]; r; r = this.byKey.get(key)?.[0]) {
      this.forget(r)
      const item = await r.item
      if (!item) continue
      if (!usable(item)) {
        void this.release(item).catch(() => {})
        continue
      }
      this.served++
      return item
    }
    return null
  }

  /**
   * Makes things for the next runs of `key` until `perKey` wait for it (with `laterMs`: one at once if none
   * waits, the others then); `made` hears of each once it is there, if it still waits then.
   */
  prepare(key: string, make: () => Promise<T>, made?: (item: T) => void): void {
    if (this.closed) return
    if (this.laterMs === 0) {
      this.fill(key, this.perKey, make, made)
      return
    }
    if (!this.byKey.get(key)?.length) this.fill(key, 1, make, made)
    if ((this.byKey.get(key)?.length ?? 0) >= this.perKey || this.later.has(key)) return
    const timer = setTimeout(() => {
      this.later.delete(key)
      if (!this.closed) this.fill(key, this.perKey, make, made)
    }, this.laterMs)
    timer.unref()
    this.later.set(key, timer)
  }

  /** Makes things for `key` until `upTo` wait for it, then lets the oldest beyond `max` go. */
  private fill(key: string, upTo: number, make: () => Promise<T>, made?: (item: T) => void): void {
    const queue = this.byKey.get(key) ?? []
    this.byKey.set(key, queue)
    while (queue.length < upTo) {
      this.started++
      const item: Promise<T | null> = make().then(
        (it) => {
          if (this.all.has(ready)) made?.(it)
          return it
        },
        () => null,
      )
      const timer = setTimeout(() => void this.drop(ready), this.keepMs)
      timer.unref()
      const ready: Ready<T> = { key, item, timer }
      queue.push(ready)
      this.all.add(ready)
    }
    for (const oldest of this.all) {
      if (this.all.size <= this.max) break
      void this.drop(oldest)
    }
  }

  /**
   * Makes no more and releases every waiting thing (shutdown); with `release` false, only forgets them: what
   * made them is ending, and they end with it.
   */
  async close(release = true): Promise<void> {
    this.closed = true
    for (const timer of this.later.values()) clearTimeout(timer)
    this.later.clear()
    if (!release) for (const r of [...this.all]) this.forget(r)
    await Promise.all([...this.all].map((r) => this.drop(r)))
  }

  /** Takes `r` out of the pool: nobody else gets it, and its keep-alive no longer runs. */
  private forget(r: Ready<T>): void {
    this.all.delete(r)
    clearTimeout(r.timer)
    const queue = this.byKey.get(r.key)
    queue?.splice(queue.indexOf(r), 1)
    if (queue?.length === 0) this.byKey.delete(r.key)
  }

  private async drop(r: Ready<T>): Promise<void> {
    if (!this.all.has(r)) return
    this.forget(r)
    const item = await r.item
    if (item) await this.release(item).catch(() => {})
  }
}
