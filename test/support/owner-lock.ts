import { randomUUID } from 'node:crypto'
import { existsSync, linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { ownerAlive, type ProcessOwner, sameOwner } from './process-owner.js'

/**
 * A lock between the processes of this machine (test runs importing a container image): a file that appears
 * whole with its owner in it (written aside, then hard-linked into place, which fails if the file exists), the
 * owner a process by pid and start time. A lock whose owner is gone (a run killed mid-import) is stale: the
 * next process that wants it moves it aside and takes it. Synchronous, like the image check it guards: a
 * process waits by polling the file.
 */
export interface LockOptions {
  /** How long to wait for a holder before giving up (an image import takes a minute or two). */
  timeoutMs?: number
  pollMs?: number
  /** Called once, when the lock is held by another live process and this one starts waiting. */
  onWait?: (holder: ProcessOwner) => void
}

export function withLock<T>(file: string, owner: ProcessOwner, fn: () => T, options: LockOptions = {}): T {
  acquireLock(file, owner, options)
  try {
    return fn()
  } finally {
    releaseLock(file, owner)
  }
}

export function acquireLock(file: string, owner: ProcessOwner, options: LockOptions = {}): void {
  const { timeoutMs = 15 * 60_000, pollMs = 100, onWait } = options
  const deadline = Date.now() + timeoutMs
  let waiting = false
  for (;;) {
    if (tryCreate(file, owner)) return
    const holder = lockOwner(file)
    if (!holder) {
      // a lock file appears whole (see above): one that is there but unreadable is not one of ours; else it
      // was released between our attempt and the read, and the next attempt may take it
      if (existsSync(file)) breakStale(file, undefined)
      continue
    }
    if (sameOwner(holder, owner)) throw new Error(`${file} is already held by this process`)
    if (!ownerAlive(holder)) {
      breakStale(file, holder)
      continue
    }
    if (!waiting) onWait?.(holder)
    waiting = true
    if (Date.now() > deadline)
      throw new Error(`${file}: held by pid ${holder.pid} for more than ${Math.round(timeoutMs / 1000)} s`)
    sleepSync(pollMs)
  }
}

/** Removes the lock if `owner` holds it (a lock another process took over is left alone). */
export function releaseLock(file: string, owner: ProcessOwner): void {
  const holder = lockOwner(file)
  if (holder && sameOwner(holder, owner)) rmSync(file, { force: true })
}

/** The lock's holder, or undefined when there is no lock (or one that cannot be read: being moved). */
export function lockOwner(file: string): ProcessOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessOwner
  } catch {
    return undefined
  }
}

function tryCreate(file: string, owner: ProcessOwner): boolean {
  const aside = `${file}.${randomUUID()}.new`
  writeFileSync(aside, JSON.stringify(owner))
  try {
    linkSync(aside, file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    rmSync(aside, { force: true })
  }
}

/**
 * Moves a stale lock (or an unreadable file in its place: `stale` undefined) aside; a rename is atomic: of two
 * processes breaking it, one moves it. If what was moved is not the stale lock read before (another process
 * broke it and took the lock in between), it is put back.
 */
function breakStale(file: string, stale: ProcessOwner | undefined): void {
  const aside = `${file}.${randomUUID()}.stale`
  try {
    renameSync(file, aside)
  } catch {
    return
  }
  const moved = lockOwner(aside)
  if (moved && (!stale || !sameOwner(moved, stale)))
    try {
      linkSync(aside, file)
    } catch {}
  rmSync(aside, { force: true })
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms)
}
