import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * PostgreSQL's server programs (initdb, pg_ctl) as the test servers run them: from PG_BIN or Debian's
 * /usr/lib/postgresql/<version>/bin (`.ci/run` installs `postgresql`), as the `postgres` user when the suite
 * runs as root (PostgreSQL refuses root).
 */
export function binDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (!versions[0])
    throw new Error('PostgreSQL server binaries not found: install `postgresql` (Debian) or set PG_BIN')
  return path.join(root, versions[0], 'bin')
}

export interface ServerUser {
  uid: number
  gid: number
}

/** As root, who runs the server: the `postgres` user's uid and gid; otherwise the suite's own user. */
export function serverUser(): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
  return { uid, gid }
}

/**
 * Where this suite's servers and their template live, one directory each with an owner.json (the same path
 * on every run, so a run can find what a killed one left: test/support/postgres-leftovers.ts).
 */
export function serversRoot(): string {
  return path.join(os.tmpdir(), `agw-test-postgres-${process.getuid?.() ?? 'user'}`)
}

/** One of PostgreSQL's server programs: initdb, pg_ctl. */
export const pgProgram = (name: string) => path.join(binDir(), name)

/** Runs `program` as `user` (a PostgreSQL program, or `cp` of a data dir); throws with its output when it fails. */
export function runAs(program: string, args: string[], user: ServerUser | undefined, cwd: string): void {
  const res = spawnSync(program, args, { ...user, cwd, encoding: 'utf8', timeout: 60_000 })
  if (res.status !== 0)
    throw new Error(`${path.basename(program)} failed: ${res.stderr || res.stdout || res.error?.message}`)
}

/** runAs without blocking the event loop (global setup runs initdb while it builds the container image). */
export function runAsAsync(program: string, args: string[], user: ServerUser | undefined, cwd: string) {
  return new Promise<void>((resolve, reject) =>
    execFile(program, args, { ...user, cwd, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${path.basename(program)} failed: ${stderr || stdout || err.message}`))
        : resolve(),
    ),
  )
}
