/** What a pass sends a marker's processes: a signal, or 0 (a look: are they still there?). */
export type MarkerSignal = NodeJS.Signals | 0

/** Signals each live process that carries one of the markers with that marker's signal; resolves with the markers found. */
export type MarkerSignaller = (signals: Readonly<Record<string, MarkerSignal>>) => Promise<string[]>

/** The least time between two passes' starts: a burst of ends shares a pass, a lone end is swept at once. */
export const sweepIntervalMs = 100

/** How long SIGKILL passes go on finding a marker (a process stuck in the kernel) before its sweep is let go. */
const minKillWaitMs = 1000

/** The least time before a sweep that found some looks again (with `intervalMs` 0, tests). */
const minLookMs = 20

/** How much earlier than set a timer may fire (libuv counts whole milliseconds). */
const timerSlackMs = 2

/** One marker's sweep. */
interface Sweep {
  graceMs: number
  /** What its next pass sends. */
  signal: MarkerSignal
  /** When its next pass is due (performance.now()). */
  dueAt: number
  /** Between two looks while its processes have their grace (doubles from the interval). */
  lookEveryMs: number
  /** When SIGKILL comes for what SIGTERM did not end (set by the SIGTERM pass that found some). */
  killAt: number
  /** When SIGKILL passes that still find some stop (set by the first SIGKILL pass). */
  giveUpAt: number
  over: Promise<void>
  ended: () => void
}

/**
 * The sweeps of ended programs' markers (marked-processes.ts), batched: a pass is one scan of /proc for every
 * marker due, never one per program. Runs that end while a pass is under way, or within `intervalMs` of the last
 * pass's start, wait for the next one; so 500 runs that end at once cost a few passes, not 500.
 *
 * A sweep is over once a pass finds no live process carrying its marker (`end` resolves then: a run's end waits for
 * it, so what its program left is gone when the end is reported). The common case: its SIGTERM pass finds none.
 * One that found some looks again (signal 0) at the next passes, every `intervalMs` at first, then less often, until
 * none is found, or until its `graceMs` is over: then SIGKILL passes (a scan again, so children forked meanwhile are
 * found too) until none is found, for at most max(graceMs, 1 s) (a process stuck in the kernel does not hold a run
 * forever). Its timer keeps the process alive while a sweep is due: a run's end waits for it, and at a graceful
 * stop nothing else may (an unref'd timer let the process exit with an interrupted run's end not stored: the next
 * start recorded it `server_lost`, not `shutdown`). Each sweep is bounded (grace, then SIGKILL passes for at most
 * max(grace, 1 s)); exit-sweep.ts ends, at the exit, what `markers()` still names.
 */
export class MarkerSweeps {
  private readonly sweeps = new Map<string, Sweep>()
  private running = false
  private timer: NodeJS.Timeout | undefined
  private timerAt = Number.POSITIVE_INFINITY
  private lastPass = Number.NEGATIVE_INFINITY
  /** Passes made so far (tests). */
  passes = 0

  constructor(
    private readonly signaller: MarkerSignaller,
    private readonly intervalMs = sweepIntervalMs,
  ) {}

  /**
   * Ends what still carries `marker`: SIGTERM at the next pass, SIGKILL `graceMs` later for what is still there.
   * Resolves once a pass found none; never rejects (a pass that fails ends the sweeps it was for).
   */
  end(marker: string, graceMs: number): Promise<void> {
    // a sweep of it under way already covers it (spawn-group.ts sweeps a group whose output outlived it, then
    // its runner sweeps after its end)
    const known = this.sweeps.get(marker)
    if (known) return known.over
    let ended: () => void = () => {}
    const over = new Promise<void>((resolve) => {
      ended = resolve
    })
    this.sweeps.set(marker, {
      graceMs,
      signal: 'SIGTERM',
      dueAt: performance.now(),
      lookEveryMs: Math.max(this.intervalMs, minLookMs),
      killAt: Number.POSITIVE_INFINITY,
      giveUpAt: Number.POSITIVE_INFINITY,
      over,
      ended,
    })
    this.schedule()
    return over
  }

  /** Every marker whose sweep is not over (a pass of it to come or under way). */
  markers(): string[] {
    return [...this.sweeps.keys()]
  }

  private schedule(): void {
    if (this.running) return
    let due = Number.POSITIVE_INFINITY
    for (const sweep of this.sweeps.values()) due = Math.min(due, sweep.dueAt)
    if (due === Number.POSITIVE_INFINITY) return
    const at = Math.max(due, this.lastPass + this.intervalMs)
    if (this.timer && this.timerAt <= at) return
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        this.timerAt = Number.POSITIVE_INFINITY
        void this.pass()
      },
      Math.max(0, at - performance.now()),
    )
  }

  private async pass(): Promise<void> {
    this.running = true
    const started = performance.now()
    // a timer may fire a little before the time it was set for (whole milliseconds)
    const now = started + timerSlackMs
    const due = [...this.sweeps].filter(([, sweep]) => sweep.dueAt <= now)
    const signals: Record<string, MarkerSignal> = {}
    for (const [marker, sweep] of due) {
      if (sweep.signal === 0 && now >= sweep.killAt) sweep.signal = 'SIGKILL'
      signals[marker] = sweep.signal
    }
    let found: Set<string> | undefined
    if (due.length > 0) {
      this.lastPass = started
      this.passes++
      try {
        found = new Set(await this.signaller(signals))
      } catch {
        // nothing known to be found: nothing to follow up
      }
    }
    const answered = performance.now()
    for (const [marker, sweep] of due) {
      if (found?.has(marker) && this.follow(sweep, answered)) continue
      this.sweeps.delete(marker)
      sweep.ended()
    }
    this.running = false
    this.schedule()
  }

  /** Sets the next pass of a sweep whose pass found some; false when it is let go. */
  private follow(sweep: Sweep, now: number): boolean {
    if (sweep.signal === 'SIGKILL') {
      if (sweep.giveUpAt === Number.POSITIVE_INFINITY)
        sweep.giveUpAt = now + Math.max(sweep.graceMs, minKillWaitMs)
      if (now >= sweep.giveUpAt) return false
      sweep.dueAt = now + Math.max(this.intervalMs, minLookMs)
      return true
    }
    // SIGTERM, or a look: look again, less often each time, until the grace is over (then SIGKILL)
    if (sweep.signal === 'SIGTERM') sweep.killAt = now + sweep.graceMs
    sweep.signal = 0
    sweep.dueAt = Math.min(now + sweep.lookEveryMs, sweep.killAt)
    sweep.lookEveryMs *= 2
    return true
  }
}
