import type { PidWindow } from './pid-window.js'

/** What a pass sends a marker's processes: a signal, or 0 (a look: are they still there?). */
export type MarkerSignal = NodeJS.Signals | 0

/**
 * Signals each live process that carries one of the markers with that marker's signal; resolves with the markers
 * found. `since` (clock ticks since boot, /proc/<pid>/stat's starttime; 0: any): processes started before it are
 * not looked at (their environment is not read), since no marker of the pass can be theirs. `windows` (absent: not
 * known for every marker): the pids of the markers' programs' leaders and the counters read before their forks
 * (pid-window.ts); only processes whose pids were given out since are looked at, when those bound anything.
 */
export type MarkerSignaller = (
  signals: Readonly<Record<string, MarkerSignal>>,
  since: number,
  windows?: readonly PidWindow[],
) => Promise<string[]>

/**
 * The window in which at most `passesPerInterval` passes start: a lone end (or two close ones) is swept at once,
 * the ends of a burst share the next passes (500 that end at once cost a few passes, not 500).
 */
export const sweepIntervalMs = 100

/** How many passes may start within `intervalMs`. */
const passesPerInterval = 2

/** How long SIGKILL passes go on finding a marker (a process stuck in the kernel) before its sweep is let go. */
const minKillWaitMs = 1000

/** The least time before a sweep that found some looks again (with `intervalMs` 0, tests). */
const minLookMs = 20

/** How much earlier than set a timer may fire (libuv counts whole milliseconds). */
const timerSlackMs = 2

/** One marker's sweep. */
interface Sweep {
  graceMs: number
  /** When its marker's first process started (MarkerSignaller's `since`; 0: not known). */
  since: number
  /** Where its marker's processes' pids lie (pid-window.ts; undefined: not known). */
  window: PidWindow | undefined
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
 * marker due, never one per program. A lone end is swept at once (the pass starts after the event loop's turn);
 * runs that end while a pass is under way wait for the next one, and at most `passesPerInterval` passes start
 * within `intervalMs`; so 500 runs that end at once cost a few passes, not 500. A pass reads the environment only
 * of processes started since its markers' programs did (`since`): the rest cannot carry them.
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
  private timer: { cancel(): void } | undefined
  private timerAt = Number.POSITIVE_INFINITY
  /** When the last `passesPerInterval` passes started, oldest first. */
  private readonly recentPasses: number[] = []
  /** Passes made so far (tests). */
  passes = 0

  constructor(
    private readonly signaller: MarkerSignaller,
    private readonly intervalMs = sweepIntervalMs,
  ) {}

  /**
   * Ends what still carries `marker`: SIGTERM at the next pass, SIGKILL `graceMs` later for what is still there.
   * Resolves once a pass found none; never rejects (a pass that fails ends the sweeps it was for). `since`: when
   * the first process that carried it started (clock ticks since boot, /proc/<pid>/stat; 0 or absent: not known):
   * every other one descends from it, so started then or later, and a pass reads no older process's environment.
   * `window`: that process's pid and the counters read before its fork (pid-window.ts): a pass looks only at the
   * pids given out since, when the windows of all its markers are known.
   */
  end(marker: string, graceMs: number, since = 0, window?: PidWindow): Promise<void> {
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
      since,
      window,
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
    // a slot: fewer than passesPerInterval passes started within the interval
    const slot =
      this.recentPasses.length < passesPerInterval
        ? Number.NEGATIVE_INFINITY
        : this.recentPasses[0]! + this.intervalMs
    const at = Math.max(due, slot)
    if (this.timer && this.timerAt <= at) return
    this.timer?.cancel()
    this.timerAt = at
    const fire = () => {
      this.timer = undefined
      this.timerAt = Number.POSITIVE_INFINITY
      void this.pass()
    }
    const delay = at - performance.now()
    // due now: after this turn of the event loop (the ends of this turn share the pass), not a timer's 1 ms later
    if (delay <= 0) {
      const immediate = setImmediate(fire)
      this.timer = { cancel: () => clearImmediate(immediate) }
    } else {
      const timeout = setTimeout(fire, delay)
      this.timer = { cancel: () => clearTimeout(timeout) }
    }
  }

  private async pass(): Promise<void> {
    this.running = true
    const started = performance.now()
    // a timer may fire a little before the time it was set for (whole milliseconds)
    const now = started + timerSlackMs
    const due = [...this.sweeps].filter(([, sweep]) => sweep.dueAt <= now)
    const signals: Record<string, MarkerSignal> = {}
    // the pass looks at what started since the earliest of its markers' first processes
    let since = Number.POSITIVE_INFINITY
    // and, when every one's window is known, at the pids given out since their leaders'
    let windows: PidWindow[] | undefined = []
    for (const [marker, sweep] of due) {
      if (sweep.signal === 0 && now >= sweep.killAt) sweep.signal = 'SIGKILL'
      signals[marker] = sweep.signal
      since = Math.min(since, sweep.since)
      if (sweep.window) windows?.push(sweep.window)
      else windows = undefined
    }
    let found: Set<string> | undefined
    if (due.length > 0) {
      this.recentPasses.push(started)
      if (this.recentPasses.length > passesPerInterval) this.recentPasses.shift()
      this.passes++
      try {
        found = new Set(await this.signaller(signals, since, windows))
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
