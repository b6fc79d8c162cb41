import type { RunQueue } from '../store/run-queue.js'
import type { Store } from '../store/store.js'
import type { RunManager } from './run-manager.js'

interface RunWorker {
  queue: RunQueue
  /** The shared store (every tenant's runs): claims are made here. */
  store: Store
  node: string
  /** Runs the node may still take (MAX_CONCURRENT_RUNS minus those it runs or has queued, 0 when stopping). */
  room(): number
  /** The run manager of a tenant's scope (null: untenanted), with its agents, settings and view of the store. */
  runsOf(tenant: string | null): RunManager
}

/**
 * A worker node takes runs from the cluster's queue while it has room: it claims each run in the store (a run
 * another node claimed first is left alone) and hands it to the run manager of the run's tenant, so it runs with
 * that tenant's agents and in its workspace, exactly as on a single node. A node taken for dead claims nothing
 * (the claim throws NotAMember): the queue gives the run back for another worker.
 */
export function startRunWorker(w: RunWorker): void {
  w.queue.work(w.room, async (runId) => {
    const run = await w.store.claimRun(runId, w.node)
    if (run) await w.runsOf(run.tenant ?? null).adopt(run)
  })
}
