import { type ChildProcess, spawn } from 'node:child_process'
import { PassThrough } from 'node:stream'
import type { ChildExit, ChildHandle, ChildSpec } from './child-handle.js'
import { deferredChild } from './deferred-child.js'
import { spawnPinned } from './pinned-cwd.js'
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
  // its turn comes later
  return deferredChild(
    new Promise<ChildHandle>((resolve) => {
      attach = resolve
    }),
  )
}

/** `child_process.spawn()` now: the child leads a process group of its own (`detached`). */
export function spawnNow(spec: ChildSpec): ChildHandle {
  let child: ChildProcess
  try {
    // in the directory spec.cwd names now, held open: a symlink swapped in later is not followed (pinned-cwd.ts)
    child = spawnPinned(spawn, spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    })
  } catch (err) {
    // some failures (a missing or moved cwd, NUL bytes in args/env) throw synchronously: report them like the others
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
