/** Signals each live process that carries one of the markers with that marker's signal; resolves with the markers found. */
export type MarkerSignaller = (signals: Readonly<Record<string, NodeJS.Signals>>) => Promise<string[]>

/** The least time between two passes' starts: a burst of ends shares a pass, a lone end is swept at once. */
export const sweepIntervalMs = 100

/**
 * The sweeps of ended programs' markers (marked-processes.ts), batched: a pass is one scan of /proc for every
 * marker due, never one per program. Runs that end while a pass is under way, or within `intervalMs` of the last
 * pass's start, wait for the next one; so 500 runs that end at once cost a few passes, not 500. A marker found
 * by its SIGTERM pass has its SIGKILL pass `graceMs` later (in whatever pass is next then: a scan again, so
 * children forked meanwhile are found too); one not found is done. Timers are unref'd: they never keep the
 * process alive (exit-sweep.ts ends, at a graceful stop, what `markers()` still names).
 */
export class MarkerSweeps {
  /** Markers whose SIGTERM pass is to come, with their grace. */
  private readonly toTerminate = new Map<string, number>()
  /** Markers whose grace is over: their SIGKILL pass is to come. */
  private readonly toKill = new Set<string>()
  /** Markers in the pass under way, and those found whose grace runs. */
  private readonly active = new Set<string>()
  private running = false
  private timer: NodeJS.Timeout | undefined
  private lastPass = Number.NEGATIVE_INFINITY
  /** Passes made so far (tests). */
  passes = 0

  constructor(
    private readonly signaller: MarkerSignaller,
    private readonly intervalMs = sweepIntervalMs,
  ) {}

  /** Ends what still carries `marker`: SIGTERM at the next pass, SIGKILL `graceMs` later if it found any. */
  end(marker: string, graceMs: number): void {
    // a sweep of it under way already covers it (spawn-group.ts sweeps a group whose output outlived it, then
    // its runner sweeps after its end)
    if (this.toTerminate.has(marker) || this.toKill.has(marker) || this.active.has(marker)) return
    this.toTerminate.set(marker, graceMs)
    this.schedule()
  }

  /** Every marker whose sweep is not over (a pass of it to come or under way). */
  markers(): string[] {
    return [...new Set([...this.toTerminate.keys(), ...this.toKill, ...this.active])]
  }

  private schedule(): void {
    if (this.running || this.timer || (this.toTerminate.size === 0 && this.toKill.size === 0)) return
    const wait = Math.max(0, this.lastPass + this.intervalMs - performance.now())
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.pass()
    }, wait)
    this.timer.unref()
  }

  private async pass(): Promise<void> {
    this.running = true
    this.lastPass = performance.now()
    this.passes++
    const terminate = new Map(this.toTerminate)
    const kill = [...this.toKill]
    this.toTerminate.clear()
    this.toKill.clear()
    const signals: Record<string, NodeJS.Signals> = {}
    for (const marker of kill) signals[marker] = 'SIGKILL'
    for (const marker of terminate.keys()) signals[marker] = 'SIGTERM'
    for (const marker of Object.keys(signals)) this.active.add(marker)
    let found = new Set<string>()
    try {
      found = new Set(await this.signaller(signals))
    } catch {
      // nothing known to be found: nothing to follow up
    }
    for (const marker of kill) this.active.delete(marker)
    for (const [marker, graceMs] of terminate) {
      if (!found.has(marker)) {
        this.active.delete(marker)
        continue
      }
      setTimeout(() => {
        this.active.delete(marker)
        this.toKill.add(marker)
        this.schedule()
      }, graceMs).unref()
    }
    this.running = false
    this.schedule()
  }
}
