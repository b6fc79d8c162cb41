import type { AgentEvent, StoredEvent } from '../protocol/events.js'
import type { Run } from '../protocol/runs.js'

export interface RunFilter {
  status?: Run['status']
  agent?: string
  /** Return runs older than this run id (ids sort by creation time). */
  before?: string
  limit: number
}

/**
 * Durable state: runs and their events. Everything is written here before a client sees it.
 * SQLite is the embedded default; the interface is async so a networked store fits behind it.
 */
export interface Store {
  readonly kind: string
  createRun(run: Run): Promise<void>
  updateRun(id: string, patch: Partial<Omit<Run, 'id'>>): Promise<void>
  getRun(id: string): Promise<Run | undefined>
  listRuns(filter: RunFilter): Promise<Run[]>
  /** Stores the event with the next seq of its run and returns it stamped. */
  appendEvent(runId: string, event: AgentEvent, at: string): Promise<StoredEvent>
  eventsAfter(runId: string, afterSeq: number, limit: number): Promise<StoredEvent[]>
  /** Runs left `queued` or `running` by a server that stopped without finishing them. */
  unfinishedRuns(): Promise<Run[]>
  /** Deletes finished runs (and their events) that finished before `cutoff`; returns how many. */
  deleteFinishedBefore(cutoff: string): Promise<number>
  ping(): Promise<boolean>
  close(): Promise<void>
}
