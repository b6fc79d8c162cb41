import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, rmSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type { ChildExit, ChildHandle, ChildSpec } from './child-handle.js'
import { deferredChild } from './deferred-child.js'
import type { EscapeScope } from './escaped-processes.js'
import { hostLeftovers, type Leftover } from './host-leftovers.js'
import type { MarkerSignal } from './marker-sweeps.js'
import { notSpawned } from './paced-spawn.js'
import type { PidWindow } from './pid-window.js'
import { procStat, sameProcess } from './proc-stat.js'
import { serverMarker } from './server-marker.js'
import { makeSpawnDir } from './spawn-dirs.js'
import { type AnnounceLimits, acceptAnnounced } from './spawn-host-announce.js'
import { spawnHostSource } from './spawn-host-source.js'
import { killGroup, killOwnGroup } from './terminate.js'

/** token (hex) + role digit, the first bytes on every stdio socket */
const tokenChars = 32
const announceBytes = tokenChars + 1

/**
 * The host announces each socket as soon as it connected, and connects three per spawn, one spawn at a time:
 * seconds of silence, or hundreds of sockets waiting, are someone else's (spawn-host-announce.ts). A gateway whose loop
 * stalled while the host went on finds several spawns' sockets waiting at once: the bound leaves room for ~80 spawns.
 */
export const announceLimits: AnnounceLimits = { timeoutMs: 5000, maxPending: 256 }

/** A scan for what escaped an agent process's tree (escaped-processes.ts), with the scope of the pass. */
export interface EscapedRequest {
  root: number
  marker: string
  scope: EscapeScope
  signal: NodeJS.Signals | 0
}

type HostReply =
  | { signalled: number; found: string[] }
  | { escaped: number; count: number }
  | { id: number; pid: number }
  | { id: number; error: { code?: string; message: string } }
  | { id: number; code: number | null; signal: NodeJS.Signals | null }

/** One spawn on its way: what the host reported and which of its sockets arrived. */
interface InFlight {
  token: string
  sockets: Array<net.Socket | undefined>
  pid?: number
  /** The child's start time, read when its pid came (undefined if it was gone by then: killOwnGroup). */
  startTime?: number | undefined
  spawned: (child: ChildHandle | Promise<ChildHandle>) => void
  exited: Promise<ChildExit>
  exit: (exit: ChildExit) => void
  settled: boolean
  /** Where the spawn goes if this host dies before its pid got here (spawn-child.ts: once, elsewhere). */
  retry: (() => ChildHandle) | undefined
}

/**
 * Spawns from a small process of its own (spawn-host-source.ts), not from the gateway's:
 * - `child_process.spawn()` forks the process that calls it and waits until the child has exec'd: tens of ms in a
 *   large, loaded process, which here block the host, not the event loop that serves requests;
 * - a fork makes every page of the forking process copy-on-write, so each page the gateway wrote after one of its
 *   own forks cost a page fault (all of its working set again after every run's start: docs/benchmarks.md).
 *   The host is a few MB; its forks are cheap and the gateway's memory is left alone.
 * A child's stdio are unix sockets: the host connects them to a listener of the gateway (a private directory,
 * mode 0700) and hands them to the child; the gateway keeps the accepted ends, matched by a random token the
 * host writes first. Requests, pids and exit statuses go over the host's IPC channel; signals go by pid and
 * process group, as for any child (terminate.ts). The host gets no environment of the gateway's (no secret):
 * each request carries its child's.
 */
export class SpawnHost {
  private readonly inFlight = new Map<number, InFlight>()
  private readonly byToken = new Map<string, InFlight>()
  private nextId = 0
  private failure: Error | undefined
  /** stop() ends it: its children are ended by the host itself. */
  private stopping = false
  /** Whether it exited and what it left was ended (`ended`). */
  private over = false
  /**
   * Resolves once the host exited and every child it left (reported or not) was killed and is gone; rejects when
   * one would not go (then nothing is spawned again in its place). Spawns elsewhere wait for it (spawn-child.ts):
   * the sweep of its leftovers goes by marker and start time, and must not take a newer child for one of them.
   */
  readonly ended: Promise<void>
  private endedNow: (swept: Promise<void>) => void = () => {}
  private readonly removeDir: () => void
  /** Children whose pid came but that were not handed over when the host died: killed, to be waited for. */
  private readonly unsettled: Leftover[] = []
  /** signalMarked and signalEscaped passes sent, waiting for their answer. */
  private readonly passes = new Map<
    number,
    { answered: (reply: HostReply) => void; failed: (err: Error) => void }
  >()
  private nextPass = 0

  private constructor(
    private readonly host: ChildProcess,
    private readonly server: net.Server,
    dir: string,
    /** Where the host connects the stdio sockets (in a directory only this user may enter). */
    readonly socketPath: string,
    /** When the host started (clock ticks since boot; 0 if unknown): what its children started after. */
    private readonly startTime: number,
  ) {
    acceptAnnounced(server, announceBytes, announceLimits, (socket, head) => this.accept(socket, head))
    host.on('message', (reply: HostReply) => this.reply(reply))
    host.on('error', (err) => this.fail(err))
    this.ended = new Promise<void>((resolve) => {
      this.endedNow = resolve
    })
    this.ended.then(
      () => {
        this.over = true
      },
      () => {
        this.over = true
      },
    )
    host.on('exit', () => {
      this.fail(new Error('the spawn host ended'))
      this.endedNow(this.stopping ? Promise.resolve() : this.endLeftovers())
    })
    // the listener's directory goes with this process, or with the host (named: the tests' state check lets a
    // process-wide host's exit listener stay, test/support/process-listeners.ts)
    const removeSpawnHostDir = () => rmSync(dir, { recursive: true, force: true })
    this.removeDir = removeSpawnHostDir
    process.once('exit', this.removeDir)
    this.unref()
    server.unref()
  }

  /** A started host, or undefined when this platform or machine cannot have one (then spawn directly). */
  static async start(): Promise<SpawnHost | undefined> {
    let dir: string | undefined
    try {
      dir = makeSpawnDir()
      const socketPath = path.join(dir, 's')
      const server = net.createServer()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        // a burst of spawns connects three sockets each before this thread gets to accept them
        server.listen({ path: socketPath, backlog: 2048 }, () => resolve())
      })
      chmodSync(socketPath, 0o600)
      const host = spawn(process.execPath, [...hostNodeFlags, '-e', spawnHostSource], {
        cwd: '/',
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          [socketVariable]: socketPath,
          // what the host kills by, should this process die (spawn-host-source.ts)
          [markerVariable]: serverMarker(),
        },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        windowsHide: true,
      })
      await ready(host)
      return new SpawnHost(host, server, dir, socketPath, procStat(host.pid!)?.startTime ?? 0)
    } catch {
      if (dir) rmSync(dir, { recursive: true, force: true })
      return undefined
    }
  }

  /** The host process's pid (tests). */
  get pid(): number | undefined {
    return this.host.pid
  }

  /** Whether it still works (a host that died is not used again). */
  get usable(): boolean {
    return this.failure === undefined
  }

  /** Whether it died and `ended` settled: spawning elsewhere is safe. */
  get hasEnded(): boolean {
    return this.over
  }

  /**
   * Spawns `spec` from the host. If the host dies before this spawn was handed over (its pid and its three
   * sockets here: the caller saw neither its pid nor any of its output), the spawn goes to `retry` once what the
   * host left was killed and is gone (so the program never runs twice at once), with stdio of its own (the
   * caller's streams are wired to the retry's); without `retry` it fails. A spawn handed over is not retried:
   * its child is killed with the host, as a child that died.
   */
  spawn(spec: ChildSpec, retry?: () => ChildHandle): ChildHandle {
    if (this.failure) return notSpawned(this.failure)
    const id = ++this.nextId
    const token = randomBytes(tokenChars / 2).toString('hex')
    let exit: (exit: ChildExit) => void = () => {}
    const exited = new Promise<ChildExit>((resolve) => {
      exit = resolve
    })
    const later = new Promise<ChildHandle>((spawned) => {
      const entry: InFlight = { token, sockets: [], spawned, exited, exit, settled: false, retry }
      this.inFlight.set(id, entry)
      this.byToken.set(token, entry)
    })
    // while children are on their way or running, their exit must be heard
    if (this.inFlight.size === 1) this.ref()
    this.host.send({ id, token, ...spec })
    return deferredChild(later)
  }

  /**
   * One pass over /proc in the host (marker-sweeps.ts sends it, so no scan runs on this thread): each process
   * that carries one of the markers of `signals` (process-marker.ts, under either of its names) gets that marker's
   * signal (0: none, a look); processes started before `since` (clock ticks since boot, /proc/<pid>/stat; 0: any)
   * are skipped unread; with `windows` (pid-window.ts), only the processes whose pids were given out since those
   * leaders' are looked at, when they bound anything. Resolves with the markers found; rejects if the host dies
   * first. Does not keep this process alive.
   */
  signalMarked(
    signals: Readonly<Record<string, MarkerSignal>>,
    since = 0,
    windows?: readonly PidWindow[],
  ): Promise<string[]> {
    return this.pass('signalMarked', { signals, since, ...(windows ? { windows } : {}) }).then((reply) =>
      'found' in reply ? reply.found : [],
    )
  }

  /**
   * One scan in the host for what escaped the agent process `request.root` and belongs to `request.scope`
   * (escaped-processes.ts: the rule; the host resolves the scope's directories): each process found gets
   * `request.signal`, never the host nor this process. Resolves with how many were signalled; rejects if the host
   * dies first. Does not keep this process alive.
   */
  signalEscaped(request: EscapedRequest): Promise<number> {
    return this.pass('signalEscaped', request).then((reply) => ('count' in reply ? reply.count : 0))
  }

  /** Sends a pass (`body` with its id) and resolves with the host's answer to it. */
  private pass(kind: 'signalMarked' | 'signalEscaped', body: object): Promise<HostReply> {
    if (this.failure) return Promise.reject(this.failure)
    const id = ++this.nextPass
    return new Promise<HostReply>((answered, failed) => {
      this.passes.set(id, { answered, failed })
      // a failed send (the channel broke) rejects this pass; the host's own end is heard as for a spawn
      this.host.send({ [kind]: { id, ...body } }, (err: Error | null) => {
        if (!err) return
        this.passes.delete(id)
        failed(err)
      })
    })
  }

  /** A socket the host connected: its first bytes say which spawn and which stream it is. */
  private accept(socket: net.Socket, head: Buffer): void {
    const text = head.toString('latin1')
    const entry = this.byToken.get(text.slice(0, tokenChars))
    const role = Number(text.slice(tokenChars))
    if (!entry || !(role >= 0 && role <= 2) || entry.sockets[role]) return void socket.destroy()
    entry.sockets[role] = socket
    this.settle(entry)
  }

  private reply(reply: HostReply): void {
    if ('signalled' in reply || 'escaped' in reply) {
      const id = 'signalled' in reply ? reply.signalled : reply.escaped
      this.passes.get(id)?.answered(reply)
      this.passes.delete(id)
      return
    }
    const entry = this.inFlight.get(reply.id)
    if (!entry) return
    if ('pid' in reply) {
      entry.pid = reply.pid
      entry.startTime = procStat(reply.pid)?.startTime
      this.settle(entry)
    } else if ('error' in reply) {
      this.forget(reply.id)
      this.byToken.delete(entry.token)
      for (const socket of entry.sockets) socket?.destroy()
      entry.settled = true
      entry.spawned(notSpawned(Object.assign(new Error(reply.error.message), { code: reply.error.code })))
    } else {
      // a quick child can exit before its sockets were accepted here: they are still matched after this
      this.forget(reply.id)
      entry.exit({ code: reply.code, signal: reply.signal })
    }
  }

  /** Once the pid and all three sockets are here, the child is handed over. */
  private settle(entry: InFlight): void {
    const [stdin, stdout, stderr] = entry.sockets
    if (entry.settled || entry.pid === undefined || !stdin || !stdout || !stderr) return
    entry.settled = true
    this.byToken.delete(entry.token)
    entry.spawned({
      stdin,
      stdout,
      stderr,
      started: Promise.resolve(entry.pid),
      exited: entry.exited,
      closed: Promise.all([entry.exited, closedStream(stdout), closedStream(stderr)]).then(([exit]) => exit),
    })
  }

  /** Its exit status is known (or will never be): the host need not keep this process alive for it. */
  private forget(id: number): void {
    this.inFlight.delete(id)
    if (this.inFlight.size === 0) this.unref()
  }

  // an idle host does not keep the gateway alive; it ends with it (its IPC channel closes)
  private ref(): void {
    this.host.ref()
    this.host.channel?.ref()
  }

  private unref(): void {
    this.host.unref()
    this.host.channel?.unref()
  }

  /**
   * The host died (never expected): children it spawned are ended (no exit status can come back for them),
   * spawns on their way go to their retry once it `ended` (or fail), and later spawns do not use it.
   */
  private fail(err: Error): void {
    if (this.failure) return
    this.failure = err
    for (const [id, entry] of this.inFlight) {
      this.forget(id)
      if (entry.pid === undefined) continue
      // one never handed over is waited for with the leftovers (`ended`) before its retry
      const { pid, startTime } = entry
      if (!entry.settled && startTime !== undefined) this.unsettled.push({ pid, startTime, group: true })
      killOwnGroup(pid, startTime, 'SIGKILL')
      entry.exit({ code: null, signal: 'SIGKILL' })
    }
    for (const entry of this.byToken.values()) {
      if (entry.settled) continue
      entry.settled = true
      // a socket of this attempt that comes later finds no token (the listener is closed as well)
      for (const socket of entry.sockets) socket?.destroy()
      // not handed over (no pid, or not all of its sockets yet): the caller saw neither its pid nor its output
      const retry = this.stopping ? undefined : entry.retry
      entry.spawned(
        retry
          ? this.ended.then(retry, (why: Error) => notSpawned(new Error(`${err.message}; ${why.message}`)))
          : notSpawned(err),
      )
    }
    this.byToken.clear()
    for (const pass of this.passes.values()) pass.failed(err)
    this.passes.clear()
    // this process lives on: the host must not take its processes for a dead gateway's (spawn-host-source.ts)
    if (this.host.connected) {
      // a failed send (the channel broke) goes to the callback, not to 'error'
      this.host.send({ release: true }, () => {})
      this.host.disconnect()
    }
    // a host that is still there (its channel failed) is of no use: it must end for `ended` to come
    if (!this.stopping && this.host.exitCode === null && this.host.signalCode === null)
      this.host.kill('SIGKILL')
    this.server.close()
    this.removeDir()
    process.off('exit', this.removeDir)
  }

  /**
   * The host died: children it spawned but whose pid never got here (it died before its report, or before the
   * fork it was in exec'd) are killed too, and waited for: a spawn retried elsewhere must not meet them alive.
   */
  private async endLeftovers(): Promise<void> {
    const left = [...this.unsettled, ...hostLeftovers(this.startTime, `${socketVariable}=${this.socketPath}`)]
    for (const { pid, group } of left) {
      try {
        if (group) killGroup(pid, 'SIGKILL')
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone meanwhile, or not ours to signal
      }
    }
    await goneAll(left)
  }

  /** Ends the host and removes its listener (tests; the process exiting does the same). */
  async stop(): Promise<void> {
    this.stopping = true
    const exited = new Promise((resolve) => {
      if (this.host.exitCode !== null || this.host.signalCode !== null) resolve(undefined)
      else this.host.once('exit', resolve)
    })
    this.fail(new Error('the spawn host was stopped'))
    await exited
  }
}

/** The host's environment entry that names its listener (and nothing but the host and its forks carries). */
const socketVariable = 'AGENT_GATEWAY_SPAWN_SOCKET'

/** The host's environment entry with this process's server marker (server-marker.ts). */
const markerVariable = 'AGENT_GATEWAY_SPAWN_MARKER'

/** How long a killed process may take to be gone (its memory and files released) before a retry gives up. */
const leftoverGoneMs = 5_000

/** Resolves once every process of `left` is gone (exited: a zombie holds nothing); rejects after leftoverGoneMs. */
async function goneAll(left: readonly Leftover[]): Promise<void> {
  const deadline = Date.now() + leftoverGoneMs
  let alive = left.filter(({ pid, startTime }) => sameProcess(pid, startTime))
  while (alive.length > 0) {
    if (Date.now() > deadline) throw new Error(`process ${alive[0]!.pid} it left did not end`)
    await new Promise((resolve) => setTimeout(resolve, 2))
    alive = alive.filter(({ pid, startTime }) => sameProcess(pid, startTime))
  }
}

/** How long a starting host may take to say it is ready (node's start on a loaded machine: well under a second). */
const readyTimeoutMs = 15_000

/** Resolves once the host said it is ready; rejects (and ends it) if it failed, exited or stayed silent. */
function ready(host: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => settle(new Error('the spawn host did not start in time')), readyTimeoutMs)
    const settle = (err?: Error) => {
      clearTimeout(timer)
      host.off('message', onMessage)
      host.off('error', settle)
      host.off('exit', onExit)
      if (!err) return resolve()
      host.kill('SIGKILL')
      reject(err)
    }
    const onMessage = (message: unknown) => {
      if ((message as { ready?: boolean } | null)?.ready === true) settle()
    }
    const onExit = () => settle(new Error('the spawn host ended while starting'))
    host.on('message', onMessage)
    host.once('error', settle)
    host.once('exit', onExit)
  })
}

/**
 * The host's node flags: a small young generation (it allocates little: a request's env at a time). No flags of
 * the gateway's (`execArgv`: a loader, a profiler) and no NODE_OPTIONS (its environment is its own).
 */
const hostNodeFlags = ['--max-semi-space-size=1']

const closedStream = (socket: net.Socket) =>
  new Promise<void>((resolve) => {
    if (socket.closed) resolve()
    else socket.once('close', () => resolve())
  })
