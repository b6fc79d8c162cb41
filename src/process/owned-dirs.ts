import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { lstat, opendir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { procStat, sameProcess } from './proc-stat.js'

/**
 * Directories the gateway makes in the shared temp dir (`<prefix><pid>-<random>`, mode 0700 from mkdtemp) or in
 * its data dir (`run-images/<run>-<random>`),
 * each with an owner file saying which process made it. A gateway that was killed leaves its directories
 * behind; the next one to start removes those whose maker is provably gone. The temp dir is shared (other
 * users, other gateways, containers that mount it, any program), so a name is no proof: only a directory (not
 * a link) of this user, with an owner file (a regular file, not a link) of this user, written by a process of
 * this pid namespace that no longer runs (same pid, same start time) or on an earlier boot, is removed.
 *
 * The owner file is either inside the directory (`<dir>/owner`) or beside it (`<dir>.owner`), for a directory
 * whose content someone else sees (staged files mounted into a container).
 */
export interface OwnedDirKind {
  prefix: string
  owner: 'inside' | 'beside'
}

/** Who made a directory: enough to tell, later, from anywhere on this machine, whether that process still runs. */
interface Owner {
  pid: number
  startTime: number
  /** /proc/self/ns/pid: a pid means something only in its own namespace. */
  pidNamespace: string
  /** /proc/sys/kernel/random/boot_id: after a reboot, no process of before runs. */
  bootId: string
}

const besideSuffix = '.owner'

const ownerFileOf = (kind: OwnedDirKind, dir: string): string =>
  kind.owner === 'inside' ? path.join(dir, 'owner') : `${dir}${besideSuffix}`

const read = (file: string, how: (f: string) => string): string | null => {
  try {
    return how(file).trim()
  } catch {
    return null
  }
}

/** This process as an owner, or null where it cannot be said (not Linux: then nothing is ever swept). */
function self(): Owner | null {
  const startTime = procStat(process.pid)?.startTime
  const pidNamespace = read('/proc/self/ns/pid', readlinkSync)
  const bootId = read('/proc/sys/kernel/random/boot_id', (f) => readFileSync(f, 'utf8'))
  if (startTime === undefined || !pidNamespace || !bootId) return null
  return { pid: process.pid, startTime, pidNamespace, bootId }
}

/**
 * Makes a directory of `kind` in `parent` (`<prefix><label>-<random>`, the label this process's pid unless
 * given), owned (by its owner file) by this process.
 */
export function makeOwnedDir(kind: OwnedDirKind, parent: string, label = String(process.pid)): string {
  const dir = mkdtempSync(path.join(parent, `${kind.prefix}${label}-`))
  const owner = self()
  if (owner) writeFileSync(ownerFileOf(kind, dir), JSON.stringify(owner), { mode: 0o600, flag: 'wx' })
  return dir
}

/** Removes a directory of `kind` and then its owner file (a beside one), so an interrupted removal is redone. */
export function removeOwnedDir(kind: OwnedDirKind, dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  if (kind.owner === 'beside') rmSync(ownerFileOf(kind, dir), { force: true })
}

/** removeOwnedDir without blocking the event loop (a sweep while serving, a run's copies of large images). */
export async function removeOwnedDirAsync(kind: OwnedDirKind, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  if (kind.owner === 'beside') await rm(ownerFileOf(kind, dir), { force: true })
}

const uid = () => process.getuid?.()

function parseOwner(text: string): Owner | null {
  try {
    const o = JSON.parse(text) as Partial<Owner>
    if (!Number.isInteger(o.pid) || !Number.isInteger(o.startTime)) return null
    if (typeof o.pidNamespace !== 'string' || typeof o.bootId !== 'string') return null
    return o as Owner
  } catch {
    return null
  }
}

/** Whether the owner file `file` is of this user and says its maker is gone. */
async function ownerGone(file: string, here: Owner): Promise<boolean> {
  const info = await lstat(file)
  if (!info.isFile() || info.uid !== uid()) return false
  const owner = parseOwner(await readFile(file, 'utf8'))
  if (!owner) return false
  if (owner.bootId !== here.bootId) return true
  if (owner.pidNamespace !== here.pidNamespace) return false
  return !sameProcess(owner.pid, owner.startTime)
}

/** Whether `dir` is a directory of `kind` of a gateway of this user that is gone (or, beside, was removed). */
async function stale(kind: OwnedDirKind, dir: string, here: Owner): Promise<boolean> {
  try {
    if (!(await ownerGone(ownerFileOf(kind, dir), here))) return false
    const info = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
      // a beside owner file whose directory is gone already (a removal cut short): the file alone goes
      if (kind.owner === 'beside' && err.code === 'ENOENT') return null
      throw err
    })
    return info === null || (info.isDirectory() && info.uid === uid())
  } catch {
    return false // no owner file, or not readable: not ours to judge
  }
}

/**
 * Removes the directories of `kinds` in `parent` (one readdir for all) that gateways of this user left when they
 * were killed (a process killed, or a test worker that never ran its exit handlers), and nothing else. Stops
 * between two directories once `signal` aborts. Resolves with how many went.
 */
export async function sweepOwnedDirs(
  kinds: OwnedDirKind | readonly OwnedDirKind[],
  parent: string,
  signal?: AbortSignal,
): Promise<number> {
  const here = self()
  if (!here || uid() === undefined) return 0
  const dirs = new Map<string, OwnedDirKind>()
  try {
    // entry by entry (opendir), not one array of every name: a temp dir may hold 100 000, and an array that
    // large, read once the server runs, would grow V8's young generation for good (docs/benchmarks.md)
    for await (const { name } of await opendir(parent)) {
      if (signal?.aborted) return 0
      const kind = [kinds].flat().find((k) => name.startsWith(k.prefix))
      if (!kind) continue
      // a beside layout is found by its owner files too: one whose directory is gone is still removed
      const dir =
        kind.owner === 'beside' && name.endsWith(besideSuffix) ? name.slice(0, -besideSuffix.length) : name
      dirs.set(dir, kind)
    }
  } catch {
    return 0
  }
  let removed = 0
  for (const [name, kind] of dirs) {
    if (signal?.aborted) break
    const dir = path.join(parent, name)
    if (!(await stale(kind, dir, here))) continue
    try {
      await removeOwnedDirAsync(kind, dir)
      removed++
    } catch {
      // not removable: the next start tries again
    }
  }
  return removed
}
