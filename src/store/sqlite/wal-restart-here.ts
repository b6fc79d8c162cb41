import { closeSync, openSync, readSync, statSync } from 'node:fs'
import type Database from 'better-sqlite3'
import type { WalWriteGate } from './wal-write-gate.js'

/** What `PRAGMA wal_checkpoint` answers: busy (1: not all copied), frames in the WAL, frames copied back. */
export interface CheckpointResult {
  busy: number
  log: number
  checkpointed: number
}

/** The checkpoint copied the whole WAL back (as it was when the checkpoint began). */
export const copiedAll = (result: CheckpointResult | undefined): boolean =>
  result !== undefined && result.busy === 0 && result.log > 0 && result.checkpointed === result.log

/** The WAL header's salt-1 (bytes 16-19): SQLite moves it each time a commit starts the WAL over. -1: none. */
export function walSequence(walFile: string): number {
  let fd: number | undefined
  try {
    fd = openSync(walFile, 'r')
    const header = Buffer.alloc(20)
    if (readSync(fd, header, 0, 20, 0) < 20) return -1
    // salt-1: every restart moves it (the checkpoint sequence at 12 is each connection's own count)
    return header.readUInt32BE(16)
  } catch {
    return -1
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * Starts the WAL over on this thread right after a checkpoint here copied it all back (the checkpointer's inline
 * checkpoint of a small WAL: wal-checkpointer.ts), with one no-op commit (user_version written back as it was):
 * SQLite starts the WAL over at the first commit after such a checkpoint and syncs the new header first, so without
 * this that sync is made inside the store's next write, a turn's or an event's commit, instead of at the
 * checkpoint's own moment. With the write gate held, as every write of this thread; it never waits, neither for the
 * gate nor for another connection's lock (then the next write starts it over, as before). Returns the WAL's mtime
 * after the commit when it started the WAL over (not a write of the store's: the checkpointer does not checkpoint
 * again for it), undefined otherwise.
 */
export function restartWalHere(
  db: Database.Database,
  gate: WalWriteGate,
  walFile: string,
): number | undefined {
  // the worker's restart under way (or a worker that failed mid-restart, not yet released): nothing to wait for here
  if (!gate.free) return undefined
  const before = walSequence(walFile)
  const timeout = db.pragma('busy_timeout', { simple: true }) as number
  db.pragma('busy_timeout = 0')
  try {
    gate.around(() => {
      db.exec('BEGIN IMMEDIATE')
      try {
        const version = db.pragma('user_version', { simple: true }) as number
        db.pragma(`user_version = ${Number(version)}`)
        db.exec('COMMIT')
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK')
        throw err
      }
    })
  } catch {
    // another connection writes (SQLITE_BUSY), or the disk is full: the store's next commit starts it over
    return undefined
  } finally {
    db.pragma(`busy_timeout = ${Number(timeout)}`)
  }
  if (walSequence(walFile) === before) return undefined
  return statSync(walFile).mtimeMs
}
