import type { QueueWorkNotices, RunQueue } from '../store/run-queue.js'
import { NotAMember, type Store } from '../store/store.js'
import type { RunManager } from './run-manager.js'

interface RunWorker {
  queue: RunQueue
  /** The shared store (every tenant's runs): claims are made here. */
  store: Store
  node: string
  /** How many times the node has registered in the cluster (NodeMembership.joins). */
  joins(): number
  /** Runs the node may still take (MAX_CONCURRENT_RUNS minus those it runs or has queued, 0 when stopping). */
  room(): number
  /** The run manager of a tenant's scope (null: untenanted), with its agents, settings and view of the store. */
  runsOf(tenant: string | null): RunManager
  /** Told of the queue's polls failing and going through again (logs). */
  notices?: QueueWorkNotices
}

/**
 * A worker node takes runs from the cluster's queue while it has room: it claims each run in the store (a run
 * another node claimed first is left alone) and hands it to the run manager of the run's tenant, so it runs with
 * that tenant's agents and in its workspace, exactly as on a single node. A node taken for dead claims nothing
 * (the claim throws NotAMember): the queue gives the run back for another worker, and this one fetches nothing
 * until it has registered again.
 */
export function startRunWorker(w: RunWorker): void {
  // A node refused once stays refused until it registers again (after its fence, seconds later): it fetches no
  // more runs meanwhile, each of which it could only give back (the same job, every poll). The runs it gave back
  // are at once for any other worker.
  let refusedIn: number | undefined
  const room = () => (refusedIn === w.joins() ? 0 : w.room())
  w.queue.work(
    room,
    async (runId) => {
      const joins = w.joins()
      try {
        const run = await w.store.claimRun(runId, w.node)
        if (run) await w.runsOf(run.tenant ?? null).adopt(run)
      } catch (err) {
        if (err instanceof NotAMember) refusedIn = joins
        throw err
      }
    },
    w.notices,
  )
}
