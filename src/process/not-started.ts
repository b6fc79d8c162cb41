import { PassThrough } from 'node:stream'
import type { RunningProcess } from './runner.js'

/** A launch that could not start: empty stdio and a `spawn_failed` outcome that says why. */
export function notStarted(error: string, started = performance.now()): RunningProcess {
  const ended = () => new PassThrough().end()
  return {
    pid: undefined,
    started: Promise.resolve(undefined),
    stdin: ended(),
    stdout: ended(),
    stderr: ended(),
    done: Promise.resolve({
      exitCode: null,
      signal: null,
      reason: 'spawn_failed',
      durationMs: Math.round(performance.now() - started),
      error,
    }),
    terminate: () => {},
  }
}
