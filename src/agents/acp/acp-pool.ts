import type { InitializeResponse } from '@agentclientprotocol/sdk'
import type { AcpProcess } from './acp-process.js'
import type { AcpLaunch } from './launch.js'

/** One session's share of an agent process: released exactly once, when the session closes. */
export interface AcpLease {
  readonly agent: AcpProcess
  readonly init: InitializeResponse
  /**
   * Gives the session's place back (`session/close` first when the agent supports it). The process ends with
   * its last lease: closed (stdin, then the group after the grace), or terminated at once with `now`. With
   * `retire` (the session's agent did not stop when told), the process takes no new session and is not kept
   * warm: it ends with the last of the sessions it serves now, terminated when that is this one.
   */
  release(sessionId: string | null, options?: ReleaseOptions): Promise<void>
}

/** How a lease is given back (AcpLease.release). */
export interface ReleaseOptions {
  /** End the process at once if this was its last lease (rather than closing it after the grace). */
  now?: boolean
  /** The process misbehaved: it serves out its other sessions and ends with the last of them. */
  retire?: boolean
}

interface Slot {
  readonly key: string
  /** Kept running (initialized, for the next lease) for `warmMs` after its last lease. */
  readonly warm: boolean
  idleTimer?: NodeJS.Timeout
  readonly agent: AcpProcess
  readonly init: Promise<InitializeResponse>
  /** Sessions it serves now. */
  live: number
  /** Sessions it took over its life, minus those it closed (`session/close`): it takes no more at the cap. */
  taken: number
  /** A session's agent ignored its cancel here: the process takes no new session and ends with its last. */
  retired: boolean
}

/**
 * Agent processes shared by sessions of the same agent and settings (ACP allows many `session/new` on one
 * connection): each process is initialized once and takes up to `perProcess` sessions. A process the
 * agent cannot close sessions in (no `session/close`) keeps a closed session's state until it ends, so it
 * counts against the cap for good; the process ends when its last session is released, which bounds both
 * the processes (sessions / perProcess, rounded up) and what each one holds.
 */
export class AcpPool {
  private readonly slots = new Map<string, Slot[]>()
  /** Warm processes no session holds, least recently used first. */
  private readonly idleWarm = new Set<Slot>()
  private closed = false

  constructor(
    private readonly perProcess: number,
    private readonly warmMs = 0,
    private readonly maxIdleWarm = 2,
  ) {}

  /**
   * A lease on a process for `launch` (initialized), shared when `shareable` and the cap allows. A `warm`
   * process (shareable only) stays up after its last lease for the pool's `warmMs`, ready for the next one.
   */
  async lease(
    launch: AcpLaunch,
    shareable: boolean,
    spawn: () => AcpProcess,
    warm = false,
  ): Promise<AcpLease> {
    const key = shareable && (this.perProcess > 1 || warm) && !this.closed ? launchKey(launch, warm) : null
    const slot =
      (key ? this.slots.get(key)?.find((s) => this.takesMore(s)) : undefined) ??
      this.open(key, spawn, warm && key !== null)
    clearTimeout(slot.idleTimer)
    this.idleWarm.delete(slot)
    slot.live++
    slot.taken++
    let init: InitializeResponse
    try {
      init = await slot.init
    } catch (err) {
      slot.live--
      // an agent whose initialize failed has usually ended (crashed, not in the image): closing (not
      // terminating) keeps its own outcome, rather than a stop racing its exit, and ends it after the grace
      if (slot.live === 0) await this.end(slot, false)
      throw err
    }
    let released = false
    return {
      agent: slot.agent,
      init,
      release: async (sessionId, { now = false, retire = false } = {}) => {
        if (released) return
        released = true
        slot.live--
        if (retire) slot.retired = true
        const keep = slot.warm && !now && !this.closed && !slot.agent.exited && !slot.retired
        if (slot.live === 0 && !keep) return this.end(slot, now || retire)
        // a retired process is not asked to close a session: it ignored this one, and it takes no more anyway
        if (sessionId && !slot.retired && init.agentCapabilities?.sessionCapabilities?.close) {
          const closed = await slot.agent.connection.agent
            .request('session/close', { sessionId })
            .then(() => true)
            .catch(() => false)
          if (closed) slot.taken--
        }
        if (slot.live === 0) this.idle(slot)
      },
    }
  }

  /** Whether a process for `launch` (shared, or `warm`) runs now and can take another session. */
  hasRoom(launch: AcpLaunch, warm: boolean): boolean {
    const slots = this.slots.get(launchKey(launch, warm)) ?? []
    return slots.some((s) => this.takesMore(s))
  }

  /** Whether `slot` can take another session. */
  private takesMore(slot: Slot): boolean {
    return slot.taken < this.perProcess && !slot.retired && !slot.agent.exited
  }

  /** Shared processes running now. */
  get sharedProcesses(): number {
    let n = 0
    for (const list of this.slots.values()) n += list.length
    return n
  }

  /** Ends every process no session holds (warm ones) and keeps no more from now on (shutdown). */
  async close(): Promise<void> {
    this.closed = true
    const idle = [...this.slots.values()].flat().filter((s) => s.live === 0)
    await Promise.all(idle.map((s) => this.end(s, false)))
  }

  /**
   * A warm process with no lease: ended after `warmMs`, or at once when it took all it may. At most
   * `maxIdleWarm` wait at a time (runs in many workspaces each warm one): past that the least recently used ends.
   */
  private idle(slot: Slot): void {
    if (slot.live > 0) return
    if (slot.taken >= this.perProcess || slot.retired || this.closed || slot.agent.exited) {
      void this.end(slot, false)
      return
    }
    this.idleWarm.add(slot)
    for (const oldest of this.idleWarm) {
      if (this.idleWarm.size <= this.maxIdleWarm) break
      void this.end(oldest, false)
    }
    if (!this.idleWarm.has(slot)) return
    clearTimeout(slot.idleTimer)
    slot.idleTimer = setTimeout(() => {
      if (slot.live === 0) void this.end(slot, false)
    }, this.warmMs)
    slot.idleTimer.unref()
  }

  private open(key: string | null, spawn: () => AcpProcess, warm: boolean): Slot {
    const agent = spawn()
    const slot: Slot = {
      key: key ?? '',
      warm,
      agent,
      init: agent.initialize(),
      live: 0,
      taken: 0,
      retired: false,
    }
    // a failed initialize is the lease's error; this keeps it from being an unhandled rejection meanwhile
    slot.init.catch(() => {})
    if (key) {
      const list = this.slots.get(key) ?? []
      list.push(slot)
      this.slots.set(key, list)
      void agent.done.then(() => this.forget(slot))
    }
    return slot
  }

  private async end(slot: Slot, now: boolean): Promise<void> {
    clearTimeout(slot.idleTimer)
    this.idleWarm.delete(slot)
    this.forget(slot)
    await (now ? slot.agent.terminate('cancelled') : slot.agent.close())
  }

  private forget(slot: Slot): void {
    const list = this.slots.get(slot.key)
    if (!list) return
    const left = list.filter((s) => s !== slot)
    if (left.length > 0) this.slots.set(slot.key, left)
    else this.slots.delete(slot.key)
  }
}

/** Sessions may share a process when it would be started the same way. */
export function launchKey(launch: AcpLaunch, warm: boolean): string {
  return JSON.stringify([
    warm,
    launch.cwd,
    launch.command,
    launch.args,
    Object.entries(launch.env).sort(),
    launch.killGraceMs,
  ])
}
