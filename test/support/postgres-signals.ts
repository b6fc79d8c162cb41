import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'

/**
 * Sends `sig` to the PostgreSQL server of data directory `dir`/data alone: its postmaster and its children (backends
 * and the rest). SIGSTOP freezes it (its sockets stay open, nothing is answered: a hung server), SIGCONT wakes it.
 */
export function signalPostgres(dir: string, sig: NodeJS.Signals): void {
  const postmaster = Number(readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
  const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' })
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0)
  for (const pid of [postmaster, ...children]) process.kill(pid, sig)
}
