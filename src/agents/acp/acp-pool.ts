import type { InitializeResponse } from '@agentclientprotocol/sdk'
import type { AcpProcess } from './acp-process.js'
import type { AcpLaunch } from './launch.js'

/** One session's share of an agent process: released exactly once, when the session closes. */
export interface AcpLease {
  readonly agent: AcpProcess
  readonly init: InitializeResponse
  /**
   * Gives the session's place back (`session/close` first when the agent supports it). The process ends with
   * its last lease: closed (stdin, then the group after the grace), or terminated at once with `now`.
   */
  release(sessionId: string | null, now?: boolean): Promise<void>
}

interface Slot {
  readonly key: string
  readonly agent: AcpProcess
  readonly init: Promise<InitializeResponse>
  /** Sessions it serves now. */
  live: number
  /** Sessions it took over its life, minus those it closed (`session/close`): it takes no more at the cap. */
  taken: number
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

  constructor(private readonly perProcess: number) {}

  /** A lease on a process for `launch` (initialized), shared when `shareable` and the cap allows. */
  async lease(launch: AcpLaunch, shareable: boolean, spawn: () => AcpProcess): Promise<AcpLease> {
    const key = shareable && this.perProcess > 1 ? launchKey(launch) : null
    const slot =
      (key ? this.slots.get(key)?.find((s) => s.taken < this.perProcess && !s.agent.exited) : undefined) ??
      this.open(key, spawn)
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
      release: async (sessionId, now = false) => {
        if (released) return
        released = true
        slot.live--
        if (slot.live === 0) return this.end(slot, now)
        if (sessionId && init.agentCapabilities?.sessionCapabilities?.close) {
          const closed = await slot.agent.connection.agent
            .request('session/close', { sessionId })
            .then(() => true)
            .catch(() => false)
          if (closed) slot.taken--
        }
      },
    }
  }

  /** Shared processes running now. */
  get sharedProcesses(): number {
    let n = 0
    for (const list of this.slots.values()) n += list.length
    return n
  }

  private open(key: string | null, spawn: () => AcpProcess): Slot {
    const agent = spawn()
    const slot: Slot = { key: key ?? '', agent, init: agent.initialize(), live: 0, taken: 0 }
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

/** Sessions may share a process when it would be started the same way, in the same directory. */
function launchKey(launch: AcpLaunch): string {
  return JSON.stringify([
    launch.command,
    launch.args,
    Object.entries(launch.env).sort(),
    launch.cwd,
    launch.killGraceMs,
  ])
}
