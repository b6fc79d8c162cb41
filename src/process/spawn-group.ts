import { existsSync } from 'node:fs'
import type { Readable } from 'node:stream'
import type { EndReason } from '../protocol/outcome.js'
import type { ChildExit, ChildHandle, ChildSpec } from './child-handle.js'
import { endMarked } from './marked-processes.js'
import { type PidWindow, pidSnapshot, pidWindow } from './pid-window.js'
import { procStat } from './proc-stat.js'
import { markerVariable, newMarker, withMarkers } from './process-marker.js'
import { abortReason, type LaunchSpec, type ProcessOutcome, type RunningProcess } from './runner.js'
import { serverMarker, serverMarkerVariable } from './server-marker.js'
import { spawnChild } from './spawn-child.js'
import { killOwnGroup, type Termination, terminateGroup } from './terminate.js'

/**
 * What to run. `stdin`: a string is written then closed; `null`/absent closes it at once (codex exec waits on an
 * open stdin); `{ keepOpen: true }` leaves it open for a long-lived peer (codex app-server) via `GroupProcess.stdin`.
 */
export type SpawnSpec = Pick<
  LaunchSpec,
  'command' | 'args' | 'cwd' | 'env' | 'stdin' | 'timeoutMs' | 'killGraceMs' | 'signal' | 'marker'
> & {
  /** How long the output may stay open after the leader exited (default: defaultOutputDrainMs). */
  outputDrainMs?: number
}

/** OUTPUT_DRAIN_MS's default: ample for what the leader wrote before it exited to be read. */
export const defaultOutputDrainMs = 2000

export type { ProcessOutcome }

/** A local process group (the local runner's RunningProcess). */
export interface GroupProcess extends RunningProcess {
  /**
   * Whether the leader exited (on its own or ended): a terminate then changes no outcome, it only ends the wait
   * for output. A runner that wraps the group (container-runner.ts) reads it before it records a reason of its own.
   */
  readonly exited: boolean
  /**
   * When the leader started (clock ticks since boot, /proc/<pid>/stat), read once its pid came; undefined before,
   * or if it was gone by then. Its marker's processes started then or later (marked-processes.ts `endMarked`).
   */
  readonly startTime: number | undefined
  /**
   * Where the pids of the leader's descendants lie (pid-window.ts: its pid, the counters read before its fork);
   * undefined before its pid came, or where they cannot be read. A sweep of its marker looks only there.
   */
  readonly pidWindow: PidWindow | undefined
}

/** How a child is spawned: by default from the spawn host, paced on this thread when there is none (spawn-child.ts). */
export type ChildSpawner = (spec: ChildSpec) => ChildHandle

/** How long the output may still close by itself after a terminate that came once the leader had exited. */
const drainAfterTerminateMs = 500

/**
 * The only place in agent-gateway that starts a child process (the core of local-runner.ts). Every child leads
 * its own process group (`detached`), so helpers it spawns are ended with it on cancel, timeout, client loss or
 * shutdown. The spawn itself happens off this thread or a little later (spawn-child.ts): `started` says when,
 * with the pid.
 *
 * `done` comes once the leader exited and its stdout and stderr closed, or `outputDrainMs` after the leader
 * exited if a process outside its group (a daemon in a session of its own: `setsid cmd &`) still holds them: then
 * they are destroyed (what was read is kept), `done` says how the leader ended, and what holds them is ended by
 * the group's marker (`spec.marker`, else a new one; the processes that carry it, marked-processes.ts), `done`
 * once they are gone. A timeout or `terminate` inside that window ends it within drainAfterTerminateMs (the
 * output's last bytes are read first when nothing else holds it), the outcome still the leader's own exit
 * (`exited`). Neither bound ends the wait while the reader holds output it read and did not take (a run whose
 * events wait for the store: process-run.ts): what the leader wrote before it exited is still to be read then, and
 * a destroy would lose it.
 */
export function spawnGroup(spec: SpawnSpec, spawn: ChildSpawner = spawnChild): GroupProcess {
  const startedAt = performance.now()
  let reason: EndReason | undefined
  let pid: number | undefined
  /** The leader's start time, read when its pid came (undefined if it was gone by then): pid reuse is told by it. */
  let leaderStart: number | undefined
  let exited = false
  let termination: Termination | undefined
  const marker = spec.marker ?? newMarker()
  // read before the fork (the spawn is sent below): the leader's descendants get pids given out after it
  const beforeFork = pidSnapshot()
  const child = spawn({
    command: spec.command,
    args: spec.args,
    cwd: spec.cwd,
    // marks the child and its descendants as this server's (a restart after a crash ends them) and as this
    // group's (what holds its output after it exited is ended by it)
    // the same in PATH: what keeps only PATH of its environment (codex's file-system helper) still carries them
    env: withMarkers(spec.env, { [markerVariable]: marker, [serverMarkerVariable]: serverMarker() }),
  })
  // An unread or closed stdin must not crash the server (EPIPE when the child exits early).
  child.stdin.on('error', () => {})
  if (typeof spec.stdin === 'string' && spec.stdin) child.stdin.end(spec.stdin)
  else if (!(typeof spec.stdin === 'object' && spec.stdin?.keepOpen)) child.stdin.end()

  /** Ends the wait for output a process outside the group holds after the leader exited (set while it lasts). */
  let endDrain: (() => void) | undefined
  const terminate = (why: EndReason) => {
    // The leader exited on its own: how it ended is the outcome, not what came after (a timeout, a cancel, the
    // client gone while a daemon holds its output); what holds the output is let go now instead of at the bound.
    if (exited) {
      // not at once: without a daemon the output closes right after the exit, and its last bytes (an agent's
      // error on stderr) are still to be read
      if (endDrain) drainAfter(drainAfterTerminateMs)
      return
    }
    if (reason === undefined) reason = why
    if (pid === undefined) return
    termination ??= terminateGroup(pid, spec.killGraceMs, leaderStart)
  }

  const timeout = spec.timeoutMs ? setTimeout(() => terminate('timed_out'), spec.timeoutMs) : undefined
  const onAbort = () => terminate(abortReason(spec.signal))
  if (spec.signal?.aborted) queueMicrotask(onAbort)
  else spec.signal?.addEventListener('abort', onAbort, { once: true })

  let resolveDone: (outcome: ProcessOutcome) => void
  const done = new Promise<ProcessOutcome>((resolve) => {
    resolveDone = resolve
  })
  let spawnError: string | undefined
  let finished = false
  /** The sweep of what held the output after the leader exited: `done` waits for it. */
  let swept: Promise<void> | undefined
  let drain: NodeJS.Timeout | undefined
  /** Whether the last check found its reader holding output. */
  let heldAtCheck = false
  /**
   * Ends the wait for the output `ms` from now; not while its reader holds it (output read and not taken: its run's
   * events wait for the store, process-run.ts): that output is the leader's own, not a daemon's, and would be lost.
   * Nor `ms` after a check that found it held: once the reader takes it, what the kernel still has for the stream
   * (past Node's buffer, not read while it was held) is read within that interval.
   */
  const drainAfter = (ms: number) => {
    drain = setTimeout(() => {
      if (!endDrain) return
      const held = unread(child.stdout) || unread(child.stderr)
      const justTaken = heldAtCheck
      heldAtCheck = held
      if (held || justTaken) drainAfter(ms)
      else endDrain()
    }, ms).unref()
  }
  const finish = ({ code, signal }: ChildExit) => {
    if (finished) return
    finished = true
    endDrain = undefined
    if (timeout) clearTimeout(timeout)
    if (drain) clearTimeout(drain)
    termination?.cancel()
    spec.signal?.removeEventListener('abort', onAbort)
    const outcome: ProcessOutcome = {
      exitCode: code,
      signal,
      reason: spawnError ? 'spawn_failed' : (reason ?? 'exited'),
      durationMs: Math.round(performance.now() - startedAt),
      ...(spawnError ? { error: spawnError } : {}),
    }
    if (swept) void swept.then(() => resolveDone(outcome))
    else resolveDone(outcome)
  }

  const started = child.started.then(
    (spawned) => {
      pid = spawned
      leaderStart = procStat(spawned)?.startTime
      // ended before it was spawned (cancel, timeout): end it now
      if (reason !== undefined) terminate(reason)
      return spawned
    },
    (err: NodeJS.ErrnoException) => {
      spawnError = spawnErrorMessage(spec, err)
      finish({ code: null, signal: null })
      return undefined
    },
  )
  // when the leader dies, anything it left in its group (or, when we were ending it, anywhere in its tree) is
  // ended right away
  void child.exited.then((exit) => {
    exited = true
    if (termination) termination.killNow()
    else if (pid !== undefined) killOwnGroup(pid, leaderStart, 'SIGKILL')
    // what the leader wrote is read within the bound; a process out of its group that holds the output does not
    // hold the end (none when the output closed first: the exit may be heard after the close)
    if (finished) return
    endDrain = () => {
      endDrain = undefined
      child.stdout.destroy()
      child.stderr.destroy()
      swept = endMarked(marker, spec.killGraceMs, leaderStart, pidWindow(beforeFork, pid))
      finish(exit)
    }
    drainAfter(spec.outputDrainMs ?? defaultOutputDrainMs)
  })
  void child.closed.then(finish)

  return {
    get pid() {
      return pid
    },
    get exited() {
      return exited
    },
    get startTime() {
      return leaderStart
    },
    get pidWindow() {
      return pidWindow(beforeFork, pid)
    },
    started,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    done,
    terminate,
  }
}

/** Output read from the process that its reader has not taken (paused, or not pulling). */
const unread = (stream: Readable) => stream.readableLength > 0

function spawnErrorMessage(spec: SpawnSpec, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT')
    return existsSync(spec.cwd) ? `${spec.command}: not found` : `cwd ${spec.cwd}: not found`
  if (err.code === 'ENOTDIR') return `cwd ${spec.cwd}: not a directory`
  if (err.code === 'ECWDMOVED')
    return `cwd ${spec.cwd}: changed since it was checked (a symlink on its path?)`
  return err.message
}
