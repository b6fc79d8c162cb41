import os from 'node:os'

/** Where a long script is (`at`), and that it finished and reported (`done`): see sayWhyOnExit. */
export interface ExitReasons {
  at(where: string): void
  done(): void
}

const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const

/**
 * Makes every way a long script can end before its report say so on stderr, with the last place it reached:
 * - its event loop emptied while it still waited (a promise nothing will settle: Node would exit 0 without a
 *   word): exit code 3;
 * - SIGTERM, SIGINT or SIGHUP: exit code 128 + the signal's number;
 * - an uncaught exception or unhandled rejection (Node prints it; exit code 1), or a `process.exit` of other code.
 * SIGKILL (the OOM killer among others) cannot be caught: the caller's shell sees exit code 137.
 */
export function sayWhyOnExit(name: string, log: (line: string) => void = console.error): ExitReasons {
  let where = 'starting'
  let finished = false
  const say = (why: string) => log(`${name} ended before its report: ${why} (last at: ${where})`)
  process.on('beforeExit', () => {
    if (finished) return
    say('nothing was left to wake it while it waited (a promise that never settled)')
    process.exit(3)
  })
  for (const signal of signals)
    process.once(signal, () => {
      if (!finished) say(`${signal} came`)
      process.exit(128 + os.constants.signals[signal])
    })
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
  }
}
