import type { NodeSignals } from '../store/node-signals.js'
import type { RunQueue } from '../store/run-queue.js'
import type { NodeMembership, NodeRole } from './node-membership.js'
import type { FencingNotices } from './ops/fencing-notices.js'

/**
 * How a RunManager takes part in a cluster. Alone (SQLite, or role `all` without a queue) it admits and runs
 * its own runs; an `api` node admits runs unowned and sends them to the queue; a `worker` takes them from the
 * queue. Signals carry cancels to the node that runs a run.
 */
export interface RunCluster {
  role: NodeRole
  membership: NodeMembership
  queue?: RunQueue
  signals?: NodeSignals
  /** Where a run this node let go (another node took it over) is told (metrics, logs). */
  fencing?: FencingNotices
  /** Takes over what dead nodes left (a pass that lists the nodes after the call), as the periodic check does. */
  recoverLost?: () => Promise<void>
}
