/**
 * A lock a node holds for as long as its process lives, which the store frees by itself once the process is gone
 * (PostgreSQL: a session advisory lock on a connection of its own). Other nodes read it in `Store.listNodes`
 * (`NodeRecord.lock`): a node whose lock is free is dead, without waiting for its heartbeat to age.
 */
export interface NodeLock {
  /** The key this node holds now; undefined while its lock connection is down (it takes the lock again). */
  readonly key: number | undefined
  /** Frees the lock (the node leaves). */
  close(): Promise<void>
}
