import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { BenchError } from './options.js'

/** A bench's temporary root and its Ctrl-C, from its start to `close()`. */
export interface BenchScope {
  /** Every temp dir the test helpers create (gateway dirs, CODEX_HOMEs, agent homes) lands under it. */
  readonly tmpRoot: string
  /** Throws BenchError('interrupted') once Ctrl-C was pressed: the run in flight finished, the bench ends. */
  checkStop(): void
  /** Removes the root and lets Ctrl-C end the process again. */
  close(): void
}

export function benchScope(prefix: string): BenchScope {
  const tmpRoot = mkdtempSync(path.join(os.tmpdir(), prefix))
  const stop = new AbortController()
  const onSigint = () => stop.abort()
  process.once('SIGINT', onSigint)
  process.env.AGW_TEST_TMP = tmpRoot
  return {
    tmpRoot,
    checkStop: () => {
      if (stop.signal.aborted) throw new BenchError('interrupted')
    },
    close: () => {
      rmSync(tmpRoot, { recursive: true, force: true })
      process.off('SIGINT', onSigint)
    },
  }
}

/** Runs a bench's main: a BenchError is printed as one line, anything else with its stack; exit code 1. */
export function runBench(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error instanceof BenchError ? `bench failed: ${error.message}` : error)
    process.exitCode = 1
  })
}
