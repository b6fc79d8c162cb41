import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { type DirKind, ownedDirs } from './postgres-dirs.js'
import { pgProgram } from './postgres-tools.js'
import { ownerAlive, type ProcessOwner, sameOwner } from './process-owner.js'

/**
 * Stops the server of a test server's or template's directory if one runs (`pg_ctl -m immediate`, as the
 * user who owns the cluster) and deletes the directory. Throws, and keeps the directory, if it still runs.
 */
export function removeServerDir(dir: string): void {
  const data = path.join(dir, 'data')
  if (existsSync(path.join(data, 'postmaster.pid'))) {
    const { uid, gid } = statSync(data)
    const as = { ...(process.getuid?.() === 0 ? { uid, gid } : {}), cwd: dir, encoding: 'utf8' as const }
    const stop = spawnSync(pgProgram('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], as)
    // 3: no server runs (stopped now, or gone with the run that started it and left its pid file)
    if (spawnSync(pgProgram('pg_ctl'), ['-D', data, 'status'], as).status !== 3)
      throw new Error(`the PostgreSQL server in ${dir} still runs: ${stop.stderr || stop.stdout}`)
  }
  // a tmpfs of its own mounted in it (startPostgres's walTmpfsBytes): unmounted, or its mount point stays
  for (const mount of mountsUnder(dir)) spawnSync('umount', ['-l', mount])
  rmSync(dir, { recursive: true, force: true })
}

/** The mount points inside `dir` (/proc/self/mounts; none where it cannot be read). */
function mountsUnder(dir: string): string[] {
  let table = ''
  try {
    table = readFileSync('/proc/self/mounts', 'utf8')
  } catch {
    return []
  }
  return table
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .reverse()
}

/**
 * What test runs killed before their teardown (SIGKILL, a CI timeout) left under root: the servers and
 * templates whose owner no longer runs are stopped and deleted; those of running owners are left alone.
 * Returns the directories removed, and why any other could not be.
 */
export function removeOrphanedServers(root: string): { removed: string[]; failed: string[] } {
  const removed: string[] = []
  const failed: string[] = []
  for (const { dir, owner } of ownedDirs(root)) {
    if (ownerAlive(owner)) continue
    try {
      removeServerDir(dir)
      removed.push(dir)
    } catch (err) {
      failed.push((err as Error).message)
    }
  }
  return { removed, failed }
}

/**
 * At the end of a run, its own servers, shared server and template: any server (`server-*`) still here is one a
 * test did not stop; the shared one and the template are the run's own, stopped here.
 */
export function removeServersOf(
  root: string,
  owner: ProcessOwner,
): { servers: string[]; shared: string[]; templates: string[] } {
  const mine = ownedDirs(root).filter((d) => sameOwner(d.owner, owner))
  for (const { dir } of mine) removeServerDir(dir)
  const of = (kind: DirKind) => mine.filter((d) => d.kind === kind).map((d) => d.dir)
  return { servers: of('server'), shared: of('shared'), templates: of('template') }
}
