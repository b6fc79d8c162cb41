import os from 'node:os'
import { killStarted } from './exit-leftovers.js'

/** Where a long script is (`at`), and that it finished and reported (`done`): see sayWhyOnExit. */
export interface ExitReasons {
  at(where: string): void
  done(): void
  /**
   * Something to close before a signal's exit (a gateway and its agents, the mock model): a script stopped by
   * SIGINT or SIGTERM closes it first, else its agents outlive it and write into the temp dir its exit removes.
   * Returns how to take it back (once it is closed by the script itself).
   */
  closeFirst(close: () => Promise<unknown>): () => void
  /** A signal came: the script is closing to exit (what fails from now on is the closing, not a finding). */
  readonly stopping: boolean
}

const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const

/** How long the closing on a signal may take before the script exits anyway. */
const defaultCloseWithinMs = 60_000

export interface ExitOptions {
  /** How long the closing on a signal may take before the script exits anyway (default 60 s). */
  closeWithinMs?: number
  /** Directories whose processes are the script's (its temp base): see exit-leftovers.ts. */
  dirs?: () => readonly string[]
}

/**
 * Makes every way a long script can end before its report say so on stderr, with the last place it reached:
 * - its event loop emptied while it still waited (a promise nothing will settle: Node would exit 0 without a
 *   word): exit code 3;
 * - SIGTERM, SIGINT or SIGHUP: what was given to closeFirst is closed (at most a minute; a second signal exits
 *   at once), every process the script started still there is killed (exit-leftovers.ts), then exit code 128 +
 *   the signal's number;
 * - an uncaught exception or unhandled rejection (Node prints it; exit code 1), or a `process.exit` of other code.
 * SIGKILL (the OOM killer among others) cannot be caught: the caller's shell sees exit code 137.
 */
export function sayWhyOnExit(
  name: string,
  log: (line: string) => void = console.error,
  { closeWithinMs = defaultCloseWithinMs, dirs = () => [] }: ExitOptions = {},
): ExitReasons {
  let where = 'starting'
  let finished = false
  let stopping = false
  const closers = new Set<() => Promise<unknown>>()
  const say = (why: string) => log(`${name} ended before its report: ${why} (last at: ${where})`)
  process.on('beforeExit', () => {
    if (finished || stopping) return
    say('nothing was left to wake it while it waited (a promise that never settled)')
    process.exit(3)
  })
  // Whatever exit a signal leads to, nothing the script started outlives it: a closing cut short (a second
  // signal, or still running after closeWithinMs) left its gateway's agents running, and they wrote into the
  // temp dir the exit removes.
  const exitClean = (code: number) => {
    const killed = killStarted(dirs())
    if (killed > 0) log(`${name}: killed ${killed} process(es) it started that were still running`)
    process.exit(code)
  }
  const onSignal = (signal: (typeof signals)[number]) => {
    const code = 128 + os.constants.signals[signal]
    if (stopping) exitClean(code)
    stopping = true
    if (!finished) say(`${signal} came`)
    if (closers.size) log(`${name}: closing before it exits (a second ${signal} exits at once)`)
    const closed = Promise.allSettled(
      [...closers].map((close) =>
        close().catch((err: unknown) => log(`${name}: closing failed: ${(err as Error)?.message ?? err}`)),
      ),
    )
    const late = setTimeout(() => {
      log(`${name}: still closing after ${closeWithinMs / 1000} s; exiting anyway`)
      exitClean(code)
    }, closeWithinMs)
    void closed.then(() => {
      clearTimeout(late)
      exitClean(code)
    })
  }
  for (const signal of signals) process.on(signal, onSignal)
  process.on('exit', (code) => {
    if (!finished && code !== 3 && !(code > 128)) say(`exit code ${code}`)
  })
  return {
    at: (w) => {
      where = w
    },
    done: () => {
      finished = true
    },
    closeFirst: (close) => {
      closers.add(close)
      return () => closers.delete(close)
    },
    get stopping() {
      return stopping
    },
  }
}
