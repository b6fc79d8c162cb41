import type { NodeRecord } from '../store/store.js'

/**
 * The liveness-lock rule (NodeRecord.lock): a node is dead by its lock when the store showed that lock free at two
 * listings at least `confirmMs` apart, and at every listing between, with no heartbeat of the node recorded
 * meanwhile. One free listing is not enough: a node whose lock connection dropped while its process lives (the
 * server restarted, a network blip, pg_terminate_backend) clears its key from its row at once and takes its lock
 * again within a few hundred milliseconds, and it keeps its heartbeat; only a node whose lock stays free with no
 * heartbeat and no clear for `confirmMs` is taken. The checker compares its own clock only (never the node's).
 * The trade-off: a crashed node is found `confirmMs` after the check that first sees its lock free (the caller
 * looks again then), instead of at once; a live node is taken only if its lock stays free, its key stays in its
 * row and its heartbeat stays silent for all of `confirmMs` (then it is fenced and joins again, as after a stall).
 * Nodes without a key (a gateway of before, a SQLite store) are judged by heartbeat alone (NodeMembership).
 */
export class LockWatch {
  /** Nodes whose lock the last listing showed free: since when (this node's clock), with the heartbeat then. */
  private readonly seenFree = new Map<string, { since: number; heartbeatAt: string }>()

  constructor(readonly confirmMs: number) {}

  /** Notes one listing of all nodes at `now`; returns the nodes whose lock it shows newly free (to look again). */
  observe(nodes: readonly NodeRecord[], now: number): string[] {
    const fresh: string[] = []
    const listed = new Set(nodes.map((n) => n.id))
    for (const id of this.seenFree.keys()) if (!listed.has(id)) this.seenFree.delete(id)
    for (const n of nodes) {
      const seen = this.seenFree.get(n.id)
      if (n.lock !== 'free') this.seenFree.delete(n.id)
      else if (!seen || seen.heartbeatAt !== n.heartbeatAt) {
        this.seenFree.set(n.id, { since: now, heartbeatAt: n.heartbeatAt })
        fresh.push(n.id)
      }
    }
    return fresh
  }

  /**
   * When a listing can confirm that `n` (as listed, after `observe`) is dead by its lock: the first listing that
   * showed it free plus `confirmMs` (this node's clock); undefined when its lock is not seen free.
   */
  confirmableAt(n: NodeRecord): number | undefined {
    const seen = this.seenFree.get(n.id)
    return n.lock === 'free' && seen?.heartbeatAt === n.heartbeatAt ? seen.since + this.confirmMs : undefined
  }

  /** Whether `n` (as listed at `now`, after `observe`) is dead by its lock. */
  isDead(n: NodeRecord, now: number): boolean {
    const seen = this.seenFree.get(n.id)
    return (
      n.lock === 'free' &&
      seen !== undefined &&
      seen.heartbeatAt === n.heartbeatAt &&
      now - seen.since >= this.confirmMs
    )
  }
}
