import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { isProcessAlive } from './alive.js'
import type { ChildExit, ChildHandle, ChildSpec } from './child-handle.js'
import { deferredChild } from './deferred-child.js'
import { notSpawned } from './paced-spawn.js'
import { spawnWorkerSource } from './spawn-worker-source.js'
import { killGroup } from './terminate.js'

/** token (hex) + role digit, the first bytes on every stdio socket */
const tokenChars = 32
const announceBytes = tokenChars + 1

type WorkerReply =
  | { id: number; pid: number }
  | { id: number; error: { code?: string; message: string } }
  | { id: number; code: number | null; signal: NodeJS.Signals | null }

/** One spawn on its way: what the worker reported and which of its sockets arrived. */
interface InFlight {
  token: string
  sockets: Array<net.Socket | undefined>
  pid?: number
  spawned: (child: ChildHandle) => void
  exited: Promise<ChildExit>
  exit: (exit: ChildExit) => void
  settled: boolean
}

/**
 * Spawns on a worker thread, so the fork/exec wait of `child_process.spawn()` (tens of ms in a large, loaded
 * process) blocks that thread, not the event loop that serves requests. A child's stdio are unix sockets: the
 * worker connects them to a listener of this thread (a private directory, mode 0700) and hands them to the
 * child; this thread keeps the accepted ends, matched by a random token the worker writes first. Exit status
 * comes back as a message; signals go by pid and process group, as for any child (terminate.ts).
 */
export class SpawnWorker {
  private readonly inFlight = new Map<number, InFlight>()
  private readonly byToken = new Map<string, InFlight>()
  private nextId = 0
  private failure: Error | undefined

  private constructor(
    private readonly worker: Worker,
    private readonly server: net.Server,
    private readonly dir: string,
    /** Where the worker connects the stdio sockets (in a directory only this user may enter). */
    readonly socketPath: string,
  ) {
    server.on('connection', (socket) => this.accept(socket))
    worker.on('message', (reply: WorkerReply) => this.reply(reply))
    worker.on('error', (err) => this.fail(err))
    worker.on('exit', () => this.fail(new Error('the spawn worker ended')))
    worker.unref()
    server.unref()
  }

  /** A started worker, or undefined when this platform or machine cannot have one (then spawn directly). */
  static async start(): Promise<SpawnWorker | undefined> {
    let dir: string | undefined
    try {
      // in the background: the worker starts during a burst, and the temp dir can be large
      void sweepStaleDirs()
      dir = mkdtempSync(path.join(os.tmpdir(), `${dirPrefix}${process.pid}-`))
      const socketPath = path.join(dir, 's')
      const server = net.createServer()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        // a burst of spawns connects three sockets each before this thread gets to accept them
        server.listen({ path: socketPath, backlog: 2048 }, () => resolve())
      })
      chmodSync(socketPath, 0o600)
      const worker = new Worker(spawnWorkerSource, { eval: true, workerData: { path: socketPath } })
      await new Promise<void>((resolve, reject) => {
        worker.once('online', resolve)
        worker.once('error', reject)
      })
      const made = dir
      // the listener's directory goes with this process
      process.once('exit', () => rmSync(made, { recursive: true, force: true }))
      return new SpawnWorker(worker, server, made, socketPath)
    } catch {
      if (dir) rmSync(dir, { recursive: true, force: true })
      return undefined
    }
  }

  /** Whether it still works (a worker that died is not used again). */
  get usable(): boolean {
    return this.failure === undefined
  }

  spawn(spec: ChildSpec): ChildHandle {
    if (this.failure) return notSpawned(this.failure)
    const id = ++this.nextId
    const token = randomBytes(tokenChars / 2).toString('hex')
    let exit: (exit: ChildExit) => void = () => {}
    const exited = new Promise<ChildExit>((resolve) => {
      exit = resolve
    })
    const later = new Promise<ChildHandle>((spawned) => {
      const entry: InFlight = { token, sockets: [], spawned, exited, exit, settled: false }
      this.inFlight.set(id, entry)
      this.byToken.set(token, entry)
    })
    // while children are on their way or running, their exit must be heard
    if (this.inFlight.size === 1) this.worker.ref()
    this.worker.postMessage({ id, token, ...spec })
    return deferredChild(later)
  }

  /** A socket the worker connected: its first bytes say which spawn and which stream it is. */
  private accept(socket: net.Socket): void {
    socket.on('error', () => {})
    const onReadable = () => {
      const head = socket.read(announceBytes) as Buffer | null
      if (head === null) return
      socket.off('readable', onReadable)
      const text = head.toString('latin1')
      const entry = this.byToken.get(text.slice(0, tokenChars))
      const role = Number(text.slice(tokenChars))
      if (!entry || !(role >= 0 && role <= 2) || entry.sockets[role]) return void socket.destroy()
      entry.sockets[role] = socket
      this.settle(entry)
    }
    socket.on('readable', onReadable)
  }

  private reply(reply: WorkerReply): void {
    const entry = this.inFlight.get(reply.id)
    if (!entry) return
    if ('pid' in reply) {
      entry.pid = reply.pid
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

  /** Its exit status is known (or will never be): the worker need not keep this process alive for it. */
  private forget(id: number): void {
    this.inFlight.delete(id)
    if (this.inFlight.size === 0) this.worker.unref()
  }

  /**
   * The worker died (never expected): children it spawned are ended (no exit status can come back for them),
   * spawns on their way fail, and later spawns do not use it.
   */
  private fail(err: Error): void {
    if (this.failure) return
    this.failure = err
    for (const [id, entry] of this.inFlight) {
      this.forget(id)
      if (entry.pid === undefined) continue
      killGroup(entry.pid, 'SIGKILL')
      entry.exit({ code: null, signal: 'SIGKILL' })
    }
    for (const entry of this.byToken.values()) {
      if (entry.settled) continue
      entry.settled = true
      for (const socket of entry.sockets) socket?.destroy()
      entry.spawned(notSpawned(err))
    }
    this.byToken.clear()
    this.server.close()
    rmSync(this.dir, { recursive: true, force: true })
  }

  /** Ends the worker and removes its listener (tests; the process exiting does the same). */
  async stop(): Promise<void> {
    this.fail(new Error('the spawn worker was stopped'))
    await this.worker.terminate()
  }
}

/** The listener's directory: `agent-gateway-spawn-<pid>-<random>` in the temp dir. */
const dirPrefix = 'agent-gateway-spawn-'

/**
 * Removes the listener directories of processes that are gone (a process that was killed, or a test worker
 * that never ran its exit handlers, leaves its directory behind).
 */
export async function sweepStaleDirs(tmp = os.tmpdir()): Promise<void> {
  let names: string[]
  try {
    names = await readdir(tmp)
  } catch {
    return
  }
  for (const name of names) {
    const pid = Number(/^agent-gateway-spawn-(\d+)-/.exec(name)?.[1])
    if (!pid || pid === process.pid || isProcessAlive(pid)) continue
    await rm(path.join(tmp, name), { recursive: true, force: true }).catch(() => {})
  }
}

const closedStream = (socket: net.Socket) =>
  new Promise<void>((resolve) => {
    if (socket.closed) resolve()
    else socket.once('close', () => resolve())
  })
