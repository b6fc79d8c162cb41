/** Slots of the gate's shared memory. */
const stateSlot = 0
const writesSlot = 1

/** The gate's states: nobody holds it, the checkpoint worker starts the WAL over, this thread writes. */
export const gateFree = 0
export const gateRestarting = 1
export const gateWriting = 2

/**
 * How long a write waits for the worker's restart at most (its one commit: a WAL header's fsync, 0.5-20 ms under
 * load). Past it the write goes on regardless: SQLite's own lock (busy_timeout) still orders the two.
 */
const maxWaitMs = 2000

/**
 * Who writes to a WAL database next: the store's thread or its checkpoint worker (wal-checkpointer.ts), through
 * two shared integers. When a checkpoint has copied the whole WAL back, the next commit starts the WAL over and,
 * by SQLite's design, fsyncs the WAL's new header first (`synchronous = NORMAL` keeps that sync): the worker makes
 * that commit itself (a no-op write), so the sync is not on this thread inside some event's or turn's commit.
 * Neither waits in SQLite's busy handler (sleeps of 1-100 ms) for the other:
 * - this thread's write transactions hold the gate (`around`): the worker starts the WAL over only while nobody
 *   writes, and only if no write began since its checkpoint did (the count of writes), else it leaves it;
 * - a write that finds the worker's restart under way waits for it on the gate (woken when it ends), then goes.
 * Taking and leaving the gate are two atomic operations (no wait) unless the worker's restart is under way.
 */
export class WalWriteGate {
  /** The shared memory the worker gets (workerData). */
  readonly buffer = new SharedArrayBuffer(8)
  private readonly cells = new Int32Array(this.buffer)
  /** Nested transactions take it once. */
  private depth = 0
  /** Whether the outermost `around` holds it (it does not if it gave up waiting). */
  private held = false

  /** `write` with the gate held (a write transaction of this thread, or one nested in it). */
  around<T>(write: () => T): T {
    if (this.depth++ === 0) this.enter()
    try {
      return write()
    } finally {
      if (--this.depth === 0) this.leave()
    }
  }

  /**
   * Frees the gate from a worker that is gone (it failed, or was ended mid-restart): a worker that died holding it
   * would otherwise make every later write wait out `maxWaitMs`. Only for a worker that will not write again.
   */
  releaseFromWorker(): void {
    if (Atomics.compareExchange(this.cells, stateSlot, gateRestarting, gateFree) === gateRestarting)
      Atomics.notify(this.cells, stateSlot)
  }

  /** Whether nobody holds it now: neither this thread's write nor the worker's restart (or a worker gone mid-restart). */
  get free(): boolean {
    return Atomics.load(this.cells, stateSlot) === gateFree
  }

  /** Writes begun on this thread so far (tests). */
  get writes(): number {
    return Atomics.load(this.cells, writesSlot)
  }

  private enter(): void {
    const deadline = performance.now() + maxWaitMs
    for (;;) {
      const was = Atomics.compareExchange(this.cells, stateSlot, gateFree, gateWriting)
      if (was === gateFree) break
      const left = deadline - performance.now()
      if (left <= 0) {
        this.held = false
        Atomics.add(this.cells, writesSlot, 1)
        return
      }
      Atomics.wait(this.cells, stateSlot, was, left)
    }
    this.held = true
    // counted as it begins: a checkpoint under way when it began leaves the WAL as it is
    Atomics.add(this.cells, writesSlot, 1)
  }

  private leave(): void {
    if (!this.held) return
    this.held = false
    Atomics.store(this.cells, stateSlot, gateFree)
    Atomics.notify(this.cells, stateSlot)
  }
}

/**
 * The worker's side, as plain CommonJS source (wal-checkpointer.ts's worker runs it): `writesSoFar(cells)`, the
 * count of this thread's writes begun; `restartAfter(db, cells,
 * writesBefore, walFile)` starts the WAL over with a no-op write (the database's user_version written back in one
 * IMMEDIATE transaction) if the gate is free and no write began since `writesBefore`: the WAL's mtime after it
 * when it did start the WAL over (its header's checkpoint sequence moved), null when its write did not (the WAL
 * was not all copied back), undefined when it did not write (a write of the store's under way, or one began).
 */
export const walRestartSource = `
const walFs = require('node:fs')
function writesSoFar(cells) {
  return Atomics.load(cells, ${writesSlot})
}
function walSequence(walFile) {
  let fd
  try {
    fd = walFs.openSync(walFile, 'r')
    const header = Buffer.alloc(20)
    if (walFs.readSync(fd, header, 0, 20, 0) < 20) return -1
    // salt-1: every restart moves it (the checkpoint sequence at 12 is each connection's own count)
    return header.readUInt32BE(16)
  } catch {
    return -1
  } finally {
    if (fd !== undefined) walFs.closeSync(fd)
  }
}
function restartAfter(db, cells, writesBefore, walFile) {
  if (Atomics.compareExchange(cells, ${stateSlot}, ${gateFree}, ${gateRestarting}) !== ${gateFree}) return undefined
  try {
    if (Atomics.load(cells, ${writesSlot}) !== writesBefore) return undefined
    const before = walSequence(walFile)
    db.exec('BEGIN IMMEDIATE')
    try {
      const version = db.pragma('user_version', { simple: true })
      db.pragma('user_version = ' + Number(version))
      db.exec('COMMIT')
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK')
      throw err
    }
    if (walSequence(walFile) === before) return null
    return walFs.statSync(walFile).mtimeMs
  } finally {
    Atomics.store(cells, ${stateSlot}, ${gateFree})
    Atomics.notify(cells, ${stateSlot})
  }
}
`
