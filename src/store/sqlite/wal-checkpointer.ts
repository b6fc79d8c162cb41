import { stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { type WalWriteGate, walRestartSource } from './wal-write-gate.js'

/**
 * The worker: its own connection to the same file; each message is one PASSIVE checkpoint (copies the WAL
 * into the database and fsyncs without blocking the writer), 'close' ends it. With a gate (wal-write-gate.ts), a
 * checkpoint that copied the whole WAL back is followed by the worker's own no-op commit, which starts the WAL over
 * (and fsyncs its new header) here rather than in the store's next commit on its thread; its answer then carries
 * the WAL's mtime after that commit. Its connection has the store's `synchronous` and WAL size bound, which a
 * restart applies. A plain CommonJS script so it runs the same from src/ (tsx, vitest) and dist/.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
${walRestartSource}
const db = new Database(workerData.file, { fileMustExist: true })
db.pragma('busy_timeout = 0')
db.pragma('synchronous = NORMAL')
if (workerData.walLimitBytes !== undefined) db.pragma('journal_size_limit = ' + Number(workerData.walLimitBytes))
const cells = workerData.gate ? new Int32Array(workerData.gate) : undefined
// the checkpoint copied the whole WAL back (as it was when the checkpoint began)
const complete = (result) => result !== undefined && result.busy === 0 && result.log > 0 && result.checkpointed === result.log
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close()
    parentPort.close()
    return
  }
  let error = null
  let restarted = null
  try {
    let writes = cells ? writesSoFar(cells) : 0
    let [result] = db.pragma('wal_checkpoint(PASSIVE)')
    // a write of the store's that began during the checkpoint (or just before it) may not be copied back: one more
    // checkpoint, a few times at most (with nothing left to copy it makes no sync)
    for (let attempt = 0; cells && attempt < 3 && complete(result); attempt++) {
      try {
        restarted = restartAfter(db, cells, writes, workerData.file + '-wal')
      } catch {
        // the WAL locked by a write outside the gate: that write's commit starts it over, as without a worker
        break
      }
      if (restarted !== undefined) break
      writes = writesSoFar(cells)
      ;[result] = db.pragma('wal_checkpoint(PASSIVE)')
    }
    restarted = restarted ?? null
  } catch (err) {
    error = String(err && err.message ? err.message : err)
  }
  parentPort.postMessage({ error, restarted })
})
`

/** What a checkpoint on the calling thread may answer: it started the WAL over, the WAL's mtime after. */
export interface InlineCheckpoint {
  walRestartedAt?: number
}

/**
 * A WAL file of at most this many bytes is checkpointed on the calling thread. The file keeps the size of the
 * most written between two checkpoints (every page a commit touched, documents and events alike; the store
 * bounds it far above this), so a larger one means a burst or a busy store, whose checkpoints go to the worker.
 */
export const inlineWalBytes = 256 * 1024

/**
 * Checkpoints a WAL database from a worker thread, so the copy and the fsync (10-230 ms under load) never
 * stall the event loop. Every `intervalMs` it checks whether the WAL was written since the last checkpoint
 * (its mtime). A WAL of a few small writes (a heartbeat, a session update: a file of at most `inlineWalBytes`)
 * is checkpointed on the calling thread (`fallback`, which may start the WAL over right after: SqliteStore), which
 * takes about a millisecond or two quiet (its syncs); only a larger one starts the worker (about 14 MB of RSS): a
 * store that sees no burst never starts the thread. If the worker cannot run, `fallback` checkpoints on the calling
 * thread as before.
 */
export class WalCheckpointer {
  private worker: Worker | undefined
  private busy = false
  private lastWrite = 0
  private failed = false
  private closed = false
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly file: string,
    /**
     * A checkpoint on this thread. One that started the WAL over right after (SqliteStore: wal-restart-here.ts)
     * answers `{ walRestartedAt }`, the WAL's mtime after that commit, which is not a write of the store's.
     */
    private readonly fallback: () => unknown,
    intervalMs = 5000,
    /** The store's write gate and WAL size bound (journal_size_limit), for the worker's restarts of the WAL. */
    private readonly restarts: { gate: WalWriteGate; walLimitBytes: number } | undefined = undefined,
  ) {
    this.timer = setInterval(() => void this.check(), intervalMs)
    this.timer.unref()
  }

  /** What the timer runs: a checkpoint if the WAL was written since the last one. Never rejects. */
  async check(): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      const wal = await stat(`${this.file}-wal`).catch(() => undefined)
      const written = wal?.mtimeMs ?? 0
      // closed while the WAL was looked at: the store's connection may be closed by now
      if (this.closed || written === 0 || written === this.lastWrite) return
      this.lastWrite = written
      if ((wal?.size ?? 0) <= inlineWalBytes && !this.worker) this.inline()
      else await this.checkpoint()
    } finally {
      this.busy = false
    }
  }

  /** One checkpoint in the worker (or on this thread if the worker failed). */
  checkpoint(): Promise<void> {
    if (this.failed) {
      this.inline()
      return Promise.resolve()
    }
    const worker = this.start()
    return new Promise<void>((resolve) => {
      // a checkpoint the worker could not make (the WAL busy) is made at the next check, like an inline one
      const answered = (message: { error: string | null; restarted?: number | null }) => {
        if (message.error) this.lastWrite = 0
        // its own commit (the WAL started over) is not a write of the store's: an idle store is not checkpointed
        // again for it (no write of the store's came between: the gate)
        else if (typeof message.restarted === 'number') this.lastWrite = message.restarted
        settle(true)
      }
      const broke = () => settle(false)
      const settle = (ok: boolean) => {
        worker.off('message', answered)
        worker.off('error', broke)
        worker.off('exit', broke)
        if (!ok) {
          this.fail()
          this.inline()
        }
        resolve()
      }
      worker.on('message', answered)
      worker.on('error', broke)
      worker.on('exit', broke)
      worker.postMessage('checkpoint')
    })
  }

  private start(): Worker {
    if (this.worker) return this.worker
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    const worker = new Worker(workerSource, {
      eval: true,
      workerData: {
        driver,
        file: this.file,
        gate: this.restarts?.gate.buffer,
        walLimitBytes: this.restarts?.walLimitBytes,
      },
    })
    worker.unref()
    worker.on('error', () => this.fail())
    this.worker = worker
    return worker
  }

  /** A checkpoint on the calling thread, unless closed; one that fails (the WAL busy) is made at the next check. */
  private inline(): void {
    if (this.closed) return
    try {
      const restarted = (this.fallback() as InlineCheckpoint | undefined)?.walRestartedAt
      if (typeof restarted === 'number') this.lastWrite = restarted
    } catch {
      this.lastWrite = 0
    }
  }

  private fail(): void {
    this.failed = true
    const worker = this.worker
    this.worker = undefined
    // its restart cannot end now: the gate it may hold is freed once it has stopped
    void worker
      ?.terminate()
      .catch(() => {})
      .finally(() => this.restarts?.gate.releaseFromWorker())
  }

  /** Stops the timer and ends the worker (after the checkpoint it may be running). */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    const worker = this.worker
    this.worker = undefined
    if (!worker) return
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    worker.postMessage('close')
    const timer = setTimeout(() => void worker.terminate(), 2000)
    await exited
    clearTimeout(timer)
    this.restarts?.gate.releaseFromWorker()
  }
}
