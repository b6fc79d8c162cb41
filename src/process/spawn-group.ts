import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { EndReason } from '../protocol/outcome.js'
import { notStarted } from './not-started.js'
import { abortReason, type LaunchSpec, type ProcessOutcome, type RunningProcess } from './runner.js'
import { serverMarker, serverMarkerVariable } from './server-marker.js'
import { killGroup, type Termination, terminateGroup } from './terminate.js'

/**
 * What to run. `stdin`: a string is written then closed; `null`/absent closes it at once (codex exec waits on an
 * open stdin); `{ keepOpen: true }` leaves it open for a long-lived peer (codex app-server) via `GroupProcess.stdin`.
 */
export type SpawnSpec = Pick<
  LaunchSpec,
  'command' | 'args' | 'cwd' | 'env' | 'stdin' | 'timeoutMs' | 'killGraceMs' | 'signal'
>

export type { ProcessOutcome }

/** A local process group (the local runner's RunningProcess). */
export type GroupProcess = RunningProcess

/**
 * The only place in agent-gateway that starts a child process (the core of local-runner.ts). Every child leads
 * its own process group (`detached`), so helpers it spawns are ended with it on cancel, timeout, client loss or
 * shutdown.
 */
export function spawnGroup(spec: SpawnSpec): GroupProcess {
  const started = performance.now()
  let reason: EndReason | undefined
  let child: ChildProcess
  let termination: Termination | undefined
  try {
    child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      // marks the child and its descendants as this server's (a restart after a crash ends them)
      env: { ...spec.env, [serverMarkerVariable]: serverMarker() },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    })
  } catch (err) {
    // Some failures (ENOTDIR cwd, NUL bytes in args/env) throw synchronously: report them as data too.
    return notStarted(spawnErrorMessage(spec, err as NodeJS.ErrnoException), started)
  }
  // An unread or closed stdin must not crash the server (EPIPE when the child exits early).
  child.stdin?.on('error', () => {})
  if (typeof spec.stdin === 'string' && spec.stdin) child.stdin?.end(spec.stdin)
  else if (!(typeof spec.stdin === 'object' && spec.stdin?.keepOpen)) child.stdin?.end()

  const terminate = (why: EndReason) => {
    if (reason === undefined) reason = why
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
    termination ??= terminateGroup(child.pid, spec.killGraceMs)
  }

  const timeout = spec.timeoutMs ? setTimeout(() => terminate('timed_out'), spec.timeoutMs) : undefined
  const onAbort = () => terminate(abortReason(spec.signal))
  if (spec.signal?.aborted) queueMicrotask(onAbort)
  else spec.signal?.addEventListener('abort', onAbort, { once: true })

  const done = new Promise<ProcessOutcome>((resolve) => {
    let spawnError: string | undefined
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = spawnErrorMessage(spec, err)
      if (child.pid === undefined) finish(null, null)
    })
    // 'exit' fires when the leader dies; anything it left in its group (or, when we were ending it, anywhere
    // in its tree) is ended right away.
    child.once('exit', () => {
      if (termination) termination.killNow()
      else if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL')
    })
    child.once('close', (code, sig) => finish(code, sig))
    let finished = false
    function finish(code: number | null, sig: NodeJS.Signals | null) {
      if (finished) return
      finished = true
      if (timeout) clearTimeout(timeout)
      termination?.cancel()
      spec.signal?.removeEventListener('abort', onAbort)
      resolve({
        exitCode: code,
        signal: sig,
        reason: spawnError ? 'spawn_failed' : (reason ?? 'exited'),
        durationMs: Math.round(performance.now() - started),
        ...(spawnError ? { error: spawnError } : {}),
      })
    }
  })

  return {
    pid: child.pid,
    stdin: child.stdin!,
    stdout: child.stdout!,
    stderr: child.stderr!,
    done,
    terminate,
  }
}

function spawnErrorMessage(spec: SpawnSpec, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT')
    return existsSync(spec.cwd) ? `${spec.command}: not found` : `cwd ${spec.cwd}: not found`
  if (err.code === 'ENOTDIR') return `cwd ${spec.cwd}: not a directory`
  return err.message
}
