import { type ChildProcess, spawn } from 'node:child_process'
import { PassThrough } from 'node:stream'
import { finished } from 'node:stream/promises'
import type { ChildExit, ChildHandle, ChildSpec } from './child-handle.js'
import { paceSpawn } from './spawn-pacing.js'

/** Spawns on this thread, at most one spawn per event-loop turn (spawn-pacing.ts). */
export function pacedSpawn(spec: ChildSpec): ChildHandle {
  let child: ChildHandle | undefined
  let attach: ((spawned: ChildHandle) => void) | undefined
  paceSpawn(() => {
    child = spawnNow(spec)
    attach?.(child)
  })
  if (child) return child
  // its turn comes later: the caller gets stdio at once, through pass-throughs
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const later = new Promise<ChildHandle>((resolve) => {
    attach = (spawned) => {
      spawned.stdin.on('error', () => {})
      stdin.pipe(spawned.stdin)
      spawned.stdout.pipe(stdout)
      spawned.stderr.pipe(stderr)
      resolve(spawned)
    }
  })
  return {
    stdin,
    stdout,
    stderr,
    started: later.then((spawned) => spawned.started),
    exited: later.then((spawned) => spawned.exited),
    // like a child's 'close': also what it wrote was read to the end
    closed: later.then(async (spawned) => {
      const read = Promise.all([drained(stdout, spawned.exited), drained(stderr, spawned.exited)])
      const exit = await spawned.closed
      await read
      return exit
    }),
  }
}

/**
 * Resolves once `stream` ended. Like Node does for a child's own stdio, a stream nobody reads is flowed once the
 * child exited, so an unread stdout does not keep `closed` pending.
 */
function drained(stream: PassThrough, exited: Promise<unknown>): Promise<void> {
  void exited.then(() => {
    if (stream.readableFlowing === null) stream.resume()
  })
  return finished(stream, { writable: false }).catch(() => {})
}

/** `child_process.spawn()` now: the child leads a process group of its own (`detached`). */
export function spawnNow(spec: ChildSpec): ChildHandle {
  let child: ChildProcess
  try {
    child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    })
  } catch (err) {
    // some failures (ENOTDIR cwd, NUL bytes in args/env) throw synchronously: report them like the others
    return notSpawned(err as Error)
  }
  const started = new Promise<number>((resolve, reject) => {
    if (child.pid !== undefined) resolve(child.pid)
    // ENOENT, EACCES, a missing cwd: emitted on the next tick, the child has no pid
    child.on('error', (err) => reject(err))
  })
  return {
    stdin: child.stdin!,
    stdout: child.stdout!,
    stderr: child.stderr!,
    started,
    exited: new Promise<ChildExit>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    ),
    closed: new Promise<ChildExit>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    ),
  }
}

/** A child that could not be spawned: ended stdio, `started` rejects with why. */
export function notSpawned(err: Error): ChildHandle {
  const ended = () => new PassThrough().end()
  const never = new Promise<ChildExit>(() => {})
  return {
    stdin: ended(),
    stdout: ended(),
    stderr: ended(),
    started: Promise.reject(err),
    exited: never,
    closed: never,
  }
}
