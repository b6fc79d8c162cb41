interface Ready<T> {
  readonly item: Promise<T | null>
  readonly timer: NodeJS.Timeout
}

/**
 * Things made ahead of time (an ACP session, a codex thread) for the next one-shot run of a key: such a run
 * then finds its session or thread open. Each serves one run at most, so every run starts with no history;
 * one waits at most `keepMs`, then it is released; at most `max` wait at a time (the oldest goes first).
 * A thing whose making failed is dropped.
 */
export class ReadyPool<T> {
  private readonly ready = new Map<string, Ready<T>>()
  private closed = false
  /** Things made ahead so far, and runs they served. */
  started = 0
  served = 0

  constructor(
    private readonly keepMs: number,
    /** Lets go of a thing nobody took (its keep-alive ended, the pool is full or closing). */
    private readonly release: (item: T) => Promise<void>,
    private readonly max = 2,
  ) {}

  /** Things made or being made that wait for their run now. */
  get waiting(): number {
    return this.ready.size
  }

  /** Takes the thing made for `key` (nobody else gets it), if one is there or on its way and still `usable`. */
  async take(key: string, usable: (item: T) => boolean = () => true): Promise<T | null> {
    const r = this.ready.get(key)
    if (!r) return null
    this.ready.delete(key)
    clearTimeout(r.timer)
    const item = await r.item
    if (!item || !usable(item)) return null
    this.served++
    return item
  }

  /**
   * Makes a thing for the next run of `key`, unless one waits for it already; `made` hears of it once it is
   * there, if it still waits then.
   */
  prepare(key: string, make: () => Promise<T>, made?: (item: T) => void): void {
    if (this.closed || this.ready.has(key)) return
    this.started++
    const item: Promise<T | null> = make().then(
      (it) => {
        if (this.ready.get(key)?.item === item) made?.(it)
        return it
      },
      () => null,
    )
    const timer = setTimeout(() => void this.drop(key), this.keepMs)
    timer.unref()
    this.ready.set(key, { item, timer })
    for (const oldest of this.ready.keys()) {
      if (this.ready.size <= this.max) break
      void this.drop(oldest)
    }
  }

  /** Releases every waiting thing and makes no more (shutdown). */
  async close(): Promise<void> {
    this.closed = true
    await Promise.all([...this.ready.keys()].map((key) => this.drop(key)))
  }

  private async drop(key: string): Promise<void> {
    const r = this.ready.get(key)
    if (!r) return
    this.ready.delete(key)
    clearTimeout(r.timer)
    const item = await r.item
    if (item) await this.release(item).catch(() => {})
  }
}
