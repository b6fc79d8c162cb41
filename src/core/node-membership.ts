import { hostname } from 'node:os'
import { isProcessAlive } from '../process/alive.js'
import type { NodeLock } from '../store/node-lock.js'
import type { NodeRecord, Store } from '../store/store.js'
import { untilClock } from '../util/clock-timer.js'
import { newId } from './ids.js'
import { LockWatch } from './lock-watch.js'
import type { FencingNotices } from './ops/fencing-notices.js'

export type NodeRole = 'all' | 'api' | 'worker'

export interface MembershipTiming {
  /** How often this node says it is alive. */
  heartbeatMs: number
  /** A node silent for this long is dead. */
  deadAfterMs: number
  /**
   * A node whose liveness lock stays free this long is dead (LockWatch); by default a second or the heartbeat
   * interval, whichever is shorter.
   */
  lockConfirmMs?: number
}

const defaultTiming: MembershipTiming = { heartbeatMs: 2000, deadAfterMs: 10_000 }

/**
 * How long one listing of the nodes answers the callers that need one for placement, admission or a call's
 * liveness check (liveRunnerIds, isLive): well below LockWatch's confirmMs, so a judgement by lock never rests on
 * a listing older than a tenth of the look spacing. Each judgement uses the listing's own time.
 */
export const sharedListingMs = 100

/** One read of the nodes (Store.listNodes) and when it was sent (this node's clock). */
interface Listing {
  nodes: NodeRecord[]
  at: number
}

/**
 * This gateway process as a node of the store: a fresh id per process, a heartbeat, and the judgement of
 * which other nodes are dead. Runs and sessions of a dead node (or of a node the store no longer knows)
 * are this node's to recover; those of live nodes are left alone.
 */
export class NodeMembership {
  readonly id = newId('node')
  private readonly host = hostname()
  private timer: NodeJS.Timeout | undefined
  /** The hosts of nodes found lost (to know whose leftover processes are on this machine). */
  private readonly lostHosts = new Map<string, string>()
  /** Ends what this node lost when another node took it for dead (a stall past deadAfterMs). */
  private fence: (() => Promise<void>) | undefined
  /** This node's liveness lock (PostgreSQL), named in its record. */
  private lock: NodeLock | undefined
  /** Other nodes' liveness locks as the checks saw them. */
  private readonly locks: LockWatch
  /** Told when a check finds a node's lock newly free: when to look again. */
  private suspect: ((afterMs: number) => void) | undefined
  /** The listing concurrent callers share (in flight, or done less than sharedListingMs ago). */
  private shared: { listing: Promise<Listing>; at: number; done: boolean } | undefined
  /** Listings sent, and the newest one LockWatch has seen: an older one that ends later is not shown to it. */
  private sent = 0
  private observed = 0
  /** Each node's heartbeat as the newest listing shown to LockWatch had it. */
  private heartbeats = new Map<string, string>()
  /** Nodes that left a call unanswered, with their heartbeat then: placement skips them until it moves. */
  private readonly unanswered = new Map<string, string | undefined>()

  constructor(
    private readonly store: Store,
    readonly role: NodeRole = 'all',
    private readonly timing: MembershipTiming = defaultTiming,
    /** Where nodes found lost, failed takeovers and this node's own fence are told (metrics, logs). */
    private readonly notices?: FencingNotices,
  ) {
    this.locks = new LockWatch(timing.lockConfirmMs ?? Math.min(1000, timing.heartbeatMs))
  }

  /** When this node's heartbeat was last recorded (how long it was silent when it finds itself fenced). */
  private lastBeatAt = Date.now()

  private registrations = 0

  /**
   * How many times this node has registered: 1 from its join, one more each time it registered again after
   * being taken for dead (and fenced). A claim refused (NotAMember) in one registration is refused until the next.
   */
  get joins(): number {
    return this.registrations
  }

  /** Registers this node (with its liveness lock, if any: Backend.openLock) and starts its heartbeat. */
  async join(lock?: NodeLock): Promise<void> {
    this.lock = lock
    await this.register()
    this.timer = setInterval(() => void this.beat().catch(() => {}), this.timing.heartbeatMs)
    this.timer.unref()
  }

  /**
   * Finds the nodes that own unfinished work but are gone (dead by heartbeat or process, or unknown to the store),
   * marks the dead ones lost (from then on they claim no run or session, and their heartbeats are not recorded),
   * lets `takeOver` take their work over, and only then removes their records, so they stay gone.
   * In that order, a node taken for dead that wakes finds its record gone only once nothing it held is its own
   * any more: its fence (onFenced) then lets go of all of it. (Removed first, a node that woke in between fenced
   * before the takeover, kept a session it no longer owned, and ran the session's next turn on that stale copy.)
   * Marked first, whatever it claimed before the mark is taken over, and it claims nothing after it (not even
   * between the takeover and its next heartbeat). When `takeOver` throws, the records stay (marked) and the next
   * call tries again. `takeOver` gets the dead nodes as well as the lost owners in use (a dead node may have left a
   * finished run without its end event). Returns the lost nodes (owners in use).
   */
  async recoverLost(takeOver: (lost: string[]) => Promise<void>, now = Date.now()): Promise<string[]> {
    const { nodes } = await this.read(now)
    const dead = nodes.filter((n) => n.id !== this.id && this.isDead(n, now))
    for (const n of dead) this.lostHosts.set(n.id, n.host)
    if (dead.length > 0) {
      const marked = await this.store.markNodesLost(
        dead.map((n) => n.id),
        new Date(now).toISOString(),
      )
      // counted by the node that marked them, once: not again when a failed takeover is retried
      if (marked.length > 0) this.notices?.lostNodes(marked, this.id)
    }
    const alive = new Set(nodes.filter((n) => !dead.includes(n)).map((n) => n.id))
    // Never this node itself, not even while its record is gone (taken for dead, not registered again yet).
    let lost = (await this.store.ownersInUse()).filter((owner) => !alive.has(owner) && owner !== this.id)
    // An owner the listing above did not know may have registered since and claimed work (a node that just
    // started, or that registered again after its fence): it is lost only if it is still unknown now.
    const deadIds = new Set(dead.map((n) => n.id))
    if (lost.some((owner) => !deadIds.has(owner))) {
      const known = new Set((await this.store.listNodes()).map((n) => n.id))
      lost = lost.filter((owner) => deadIds.has(owner) || !known.has(owner))
      const unknown = lost.filter((owner) => !deadIds.has(owner))
      // (the dead ones were told above; a takeover of these alone would otherwise leave no line in any log)
      if (unknown.length > 0) this.notices?.unknownOwners(unknown, this.id)
    }
    // A dead node that holds nothing unfinished may still have left a finished run without its end event (one of an
    // earlier version that died between the two writes: run-recovery.ts endMissingRuns): its takeover looks for those (an owner in use is
    // found by an index; those runs are not, so they are looked for only among the nodes found dead).
    const takeOverFrom = [...new Set([...lost, ...deadIds])]
    if (takeOverFrom.length > 0)
      await takeOver(takeOverFrom).catch((err: unknown) => {
        this.notices?.takeoverFailed(err, this.id)
        throw err
      })
    for (const n of dead) await this.store.removeNode(n.id)
    // a shared listing from before names them still
    if (dead.length > 0) this.shared = undefined
    return lost
  }

  /**
   * What to do when this node finds its record removed: another node took it for dead and took over its runs
   * and sessions. The node registers again only once `fence` ended what it lost.
   */
  onFenced(fence: () => Promise<void>): void {
    this.fence = fence
  }

  /**
   * What to do when a check finds another node's liveness lock free for the first time: look again (recoverLost)
   * after `afterMs`, when it is dead if its lock is still free and it did not beat meanwhile (LockWatch).
   */
  onSuspect(lookAgain: (afterMs: number) => void): void {
    this.suspect = lookAgain
  }

  /** Whether a lost node ran on this machine (or is unknown: then its processes, if any, could only be here). */
  wasLocal(node: string): boolean {
    const host = this.lostHosts.get(node)
    return host === undefined || host === this.host
  }

  /** Live nodes that run agents (`all` and `worker`), this one included. */
  async liveRunners(now = Date.now()): Promise<number> {
    return (await this.liveRunnerIds(now)).length
  }

  /** The ids of the live nodes that run agents, this one included. */
  async liveRunnerIds(now?: number): Promise<string[]> {
    const { nodes, at } = await this.listing()
    return nodes
      .filter((n) => n.role !== 'api' && (n.id === this.id || !this.isDead(n, now ?? at)))
      .map((n) => n.id)
  }

  /**
   * The live runners new work may be placed on: those this node has no reason to think dying. Skipped: a node whose
   * liveness lock a listing showed free (not confirmed dead yet), whose heartbeat is older than two intervals (one
   * missed), or that left a call unanswered (NodeCalls) and has not beaten since. Each suspicion lifts with the
   * node's next heartbeat (or its lock held again), so a node that was only slow is placeable again within a beat;
   * when every live runner is suspect, all of them are placeable (better a slow node than none).
   */
  async placeableRunnerIds(): Promise<string[]> {
    const { nodes, at } = await this.listing()
    const live = nodes.filter((n) => n.role !== 'api' && (n.id === this.id || !this.isDead(n, at)))
    const sound = live.filter((n) => n.id === this.id || !this.isSuspect(n, at))
    return (sound.length > 0 ? sound : live).map((n) => n.id)
  }

  /** Notes that node `id` left a call unanswered (placeableRunnerIds skips it until its next heartbeat). */
  noteUnanswered(id: string): void {
    if (id !== this.id) this.unanswered.set(id, this.heartbeats.get(id))
  }

  private isSuspect(n: NodeRecord, now: number): boolean {
    if (this.locks.confirmableAt(n) !== undefined) return true
    if (now - Date.parse(n.heartbeatAt) > 2 * this.timing.heartbeatMs) return true
    if (!this.unanswered.has(n.id)) return false
    if (this.unanswered.get(n.id) === n.heartbeatAt) return true
    this.unanswered.delete(n.id)
    return false
  }

  /** Whether node `id` is registered and not dead. */
  async isLive(id: string, now?: number): Promise<boolean> {
    if (id === this.id) return true
    const { nodes, at } = await this.listing()
    const node = nodes.find((n) => n.id === id)
    return node !== undefined && !this.isDead(node, now ?? at)
  }

  /**
   * Whether node `id` is alive, for a request that is about to be sent to it (a session call to forward). As
   * isLive, except when its liveness lock is seen free: then the answer waits for the look that can confirm it
   * (LockWatch: confirmMs after the lock was first seen free, at most that long) and is that look's. So a request
   * for a crashed node's session learns within about confirmMs that the node is dead (its caller takes the
   * session over) instead of being sent to a process that is gone; a node whose lock is held is alive, stalled or
   * not (then only its heartbeat's age can make it dead, as before).
   */
  async isLiveConfirmed(id: string): Promise<boolean> {
    if (id === this.id) return true
    // a listing sent after the call (shared by the calls at the same time): one of the last 100 ms may be from
    // before the process died
    const { nodes, at } = await this.listing(Date.now())
    const node = nodes.find((n) => n.id === id)
    if (node === undefined || this.isDead(node, at)) return false
    const due = this.locks.confirmableAt(node)
    if (due === undefined) return true
    // until Date.now() says so: a look a millisecond early could not confirm, and would judge a dead node alive
    await untilClock(due)
    // a listing sent now: one sent before `due` cannot confirm anything
    const confirming = await this.read()
    const seen = confirming.nodes.find((n) => n.id === id)
    return seen !== undefined && !this.isDead(seen, confirming.at)
  }

  /**
   * A listing shared by concurrent callers (sharedListingMs): placement, admission and calls read one each. With
   * `notBefore`, only a listing sent at or after it.
   */
  private listing(notBefore = 0): Promise<Listing> {
    const s = this.shared
    if (s && s.at >= notBefore && (!s.done || Date.now() - s.at < sharedListingMs)) return s.listing
    const at = Date.now()
    const entry = { listing: this.read(at), at, done: false }
    this.shared = entry
    entry.listing.then(
      () => {
        entry.done = true
      },
      () => {
        if (this.shared === entry) this.shared = undefined
      },
    )
    return entry.listing
  }

  /**
   * A new listing of the nodes, sent at `at`, shown to LockWatch (unless a listing sent after it was shown first):
   * a node whose lock it finds newly free is looked at again confirmMs later (onSuspect).
   */
  private async read(at = Date.now()): Promise<Listing> {
    const seq = ++this.sent
    const nodes = await this.store.listNodes()
    if (seq > this.observed) {
      this.observed = seq
      this.heartbeats = new Map(nodes.map((n) => [n.id, n.heartbeatAt]))
      for (const id of this.unanswered.keys()) if (!this.heartbeats.has(id)) this.unanswered.delete(id)
      if (this.locks.observe(nodes, at).length > 0) this.suspect?.(this.locks.confirmMs)
    }
    return { nodes, at }
  }

  /**
   * Stops the heartbeat and removes this node's record, once a heartbeat in flight is done: that one would find
   * the record gone and register the node again, a record of a node that no longer runs.
   */
  async leave(): Promise<void> {
    this.left = true
    clearInterval(this.timer)
    await this.beating?.catch(() => {})
    try {
      await this.store.removeNode(this.id)
    } finally {
      // after the record: while the record is there, the lock says the node lives
      await this.lock?.close()
    }
  }

  private fencing: Promise<void> | undefined
  /** The heartbeat in flight, if any. */
  private beating: Promise<void> | undefined
  private left = false

  private beat(): Promise<void> {
    if (this.left || this.beating) return this.beating ?? Promise.resolve()
    this.beating = this.beatOnce().finally(() => {
      this.beating = undefined
    })
    return this.beating
  }

  private async beatOnce(): Promise<void> {
    if (this.fencing) return
    const at = Date.now()
    if (await this.store.heartbeat(this.id, new Date(at).toISOString())) {
      this.lastBeatAt = at
      return
    }
    if (this.left) return
    this.notices?.wasFenced(this.id, at - this.lastBeatAt)
    this.fencing = (async () => {
      await this.fence?.()
      if (!this.left) await this.register()
    })().finally(() => {
      this.fencing = undefined
    })
    await this.fencing
  }

  /** Whether this node is ending what it lost after being taken for dead (it takes no new work meanwhile). */
  get isFencing(): boolean {
    return this.fencing !== undefined
  }

  /**
   * On this machine a node is dead when its process is, or when it had this process's pid but started before
   * this process did (a restarted container); everywhere, when its liveness lock stayed free (LockWatch: its
   * process is gone, wherever it ran) or its heartbeat is older than deadAfterMs (a node without a lock, or one
   * that holds it but stalls).
   */
  private isDead(n: NodeRecord, now: number): boolean {
    const thisProcessStarted = Date.now() - process.uptime() * 1000
    if (n.host === this.host && n.pid === process.pid && Date.parse(n.startedAt) < thisProcessStarted)
      return true
    if (n.host === this.host && n.pid !== process.pid && !isProcessAlive(n.pid)) return true
    if (this.locks.isDead(n, now)) return true
    return now - Date.parse(n.heartbeatAt) > this.timing.deadAfterMs
  }

  private async register(): Promise<void> {
    await this.store.registerNode(this.record())
    this.lastBeatAt = Date.now()
    this.registrations++
  }

  private record(): NodeRecord {
    const now = new Date().toISOString()
    return {
      id: this.id,
      role: this.role,
      host: this.host,
      pid: process.pid,
      startedAt: now,
      heartbeatAt: now,
      ...(this.lock?.key !== undefined ? { lockKey: this.lock.key } : {}),
    }
  }
}
