import { mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { lstat, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { procStat, sameProcess } from './proc-stat.js'

/**
 * The spawn host's listener directories: `agent-gateway-spawn-<pid>-<random>` in the temp dir (mode 0700, from
 * mkdtemp), each with an `owner` file saying which process made it. A gateway that was killed leaves its
 * directory behind; the next one to start a host removes those whose maker is provably gone. The temp dir is
 * shared (other users, other gateways, containers that mount it, any program), so a name is no proof: only a
 * directory (not a link) of this user, with an owner file of this user, written by a process of this pid
 * namespace that no longer runs (same pid, same start time) or on an earlier boot, is removed.
 */
const dirPrefix = 'agent-gateway-spawn-'
const ownerFile = 'owner'

/** Who made a directory: enough to tell, later, from anywhere on this machine, whether that process still runs. */
interface Owner {
  pid: number
  startTime: number
  /** /proc/self/ns/pid: a pid means something only in its own namespace. */
  pidNamespace: string
  /** /proc/sys/kernel/random/boot_id: after a reboot, no process of before runs. */
  bootId: string
}

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

/** Makes a listener directory in `tmp`, owned (by its owner file) by this process. */
export function makeSpawnDir(tmp = os.tmpdir()): string {
  const dir = mkdtempSync(path.join(tmp, `${dirPrefix}${process.pid}-`))
  const owner = self()
  if (owner) writeFileSync(path.join(dir, ownerFile), JSON.stringify(owner), { mode: 0o600, flag: 'wx' })
  return dir
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

/** Whether `dir` is a listener directory of a gateway of this user that is gone. */
async function stale(dir: string, here: Owner): Promise<boolean> {
  try {
    const [info, file] = await Promise.all([lstat(dir), lstat(path.join(dir, ownerFile))])
    if (!info.isDirectory() || info.uid !== uid() || !file.isFile() || file.uid !== uid()) return false
    const owner = parseOwner(await readFile(path.join(dir, ownerFile), 'utf8'))
    if (!owner) return false
    if (owner.bootId !== here.bootId) return true
    if (owner.pidNamespace !== here.pidNamespace) return false
    return !sameProcess(owner.pid, owner.startTime)
  } catch {
    return false // no owner file: not ours to judge
  }
}

/**
 * Removes the listener directories in `tmp` that gateways of this user left when they were killed (a process
 * killed, or a test worker that never ran its exit handlers), and nothing else.
 */
export async function sweepStaleDirs(tmp = os.tmpdir()): Promise<void> {
  const here = self()
  if (!here || uid() === undefined) return
  let names: string[]
  try {
    names = await readdir(tmp)
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(dirPrefix)) continue
    const dir = path.join(tmp, name)
    if (await stale(dir, here)) await rm(dir, { recursive: true, force: true }).catch(() => {})
  }
}
