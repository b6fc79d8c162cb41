import { sweepTempDirs } from '../../process/temp-dirs.js'
import { sweepRunImages } from '../staged-images.js'

/** The part of a pino logger the sweep uses (Fastify's logger is one). */
export interface SweepLogger {
  info(obj: Record<string, unknown>, msg: string): void
  error(obj: Record<string, unknown>, msg: string): void
}

/** How many directories of killed gateways the sweep removed, by place. */
export interface SweptLeftovers {
  /** The temp dir's spawn-host listener directories and runs' staged files (one readdir of it). */
  tempDirs: number
  /** Copies of runs' images in DATA_DIR/run-images (container sessions' image directories with them). */
  runImages: number
}

/** The line the sweep logs when it is done (tests of another process wait for it). */
export const leftoversSweptMessage = 'leftovers of killed gateways swept'

/**
 * What gateways killed with SIGKILL left on disk, removed in the background once this one listens (a readdir of
 * a large temp dir must not delay the first answer). Safe at any time: owned-dirs.ts removes only what a gone
 * process made, never a live gateway's (this one's included). It never throws: a failure is logged and the next
 * start tries again. `stop()` (shutdown) cancels what is left of it and waits until it ended.
 */
export class LeftoverSweep {
  private readonly cancel = new AbortController()
  private started = false
  private finish: (swept: SweptLeftovers | undefined) => void = () => {}
  /** Settles once the sweep ended: what it removed, or undefined if it failed or was stopped before it started. */
  readonly done = new Promise<SweptLeftovers | undefined>((resolve) => {
    this.finish = resolve
  })

  constructor(
    private readonly dataDir: string,
    /** The temp dir (default: os.tmpdir() when the sweep starts). */
    private readonly tmp?: string,
  ) {}

  /** Starts the sweep once; what it did (or why it failed) is logged on `log`. */
  start(log: SweepLogger): void {
    if (this.started) return
    this.started = true
    const signal = this.cancel.signal
    void (async () => {
      const tempDirs = await sweepTempDirs(this.tmp, signal)
      const runImages = await sweepRunImages(this.dataDir, signal)
      return { tempDirs, runImages }
    })().then(
      (swept) => {
        log.info({ ...swept, cancelled: signal.aborted }, leftoversSweptMessage)
        this.finish(swept)
      },
      (err: unknown) => {
        log.error(
          { err: err instanceof Error ? err.message : String(err) },
          'sweeping what killed gateways left failed; the next start tries again',
        )
        this.finish(undefined)
      },
    )
  }

  /**
   * Cancels the sweep between two directories and resolves once it ended; one never started never starts (a
   * server that failed to listen stops its gateway).
   */
  async stop(): Promise<void> {
    this.cancel.abort()
    if (!this.started) {
      this.started = true
      this.finish(undefined)
    }
    await this.done
  }
}
