import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { lchownSync, mkdirSync, rmSync, symlinkSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import pg from 'pg'
import { type DirKind, makeOwnedDir } from './postgres-dirs.js'
import { removeServerDir } from './postgres-leftovers.js'
import { initdbArgs, templateVariable } from './postgres-template.js'
import { pgProgram, runAs, type ServerUser, serversRoot, serverUser } from './postgres-tools.js'
import { type ProcessOwner, suiteOwner } from './process-owner.js'

/**
 * A throwaway PostgreSQL server for tests, started with pg_ctl on a free loopback port (and a unix socket in
 * its directory), stopped and deleted by stop(). Its cluster is a copy of the run's template (global-setup.ts
 * makes it once) or, outside vitest, its own initdb. It lives in a directory of serversRoot() with the owner
 * it belongs to (the vitest process), so the next run stops it if this one is killed before stop().
 */
export interface TestPostgres {
  /** postgres://… of the server's `postgres` database. */
  url: string
  port: number
  /** The server's directory (its cluster is `data/` in it). */
  dir: string
  /**
   * A new empty database; its URL. With `template` (a database of this server nobody is connected to), a copy of
   * that one instead, copied as files (STRATEGY FILE_COPY: cheaper than copying it through the WAL). Through
   * `admin` (a client connected to the server's `postgres` database) if given, else a connection of its own.
   */
  createDatabase(template?: string, admin?: pg.Client): Promise<string>
  /**
   * Starts the server again (same port, settings and cluster: crash recovery, if it went down on its own, as
   * PostgreSQL does after a PANIC its startup cannot recover from, a full pg_wal); waits until it takes connections.
   */
  start(): Promise<void>
  stop(): Promise<void>
}

export interface PostgresOptions {
  /** Where its directory goes: serversRoot() unless a test of the cleanup says otherwise. */
  root?: string
  /** Whom it belongs to: the suite's vitest process (suiteOwner()) unless a test says otherwise. */
  owner?: ProcessOwner
  /** 'shared': the run's one server (run-postgres.ts), which the run's teardown stops without calling it a leak. */
  kind?: Extract<DirKind, 'server' | 'shared'>
  /**
   * The cluster's pg_wal on a tmpfs of its own of this many bytes (mounting one needs root), at `<dir>/wal`: a test
   * can shrink it (`mount -o remount,size=`) to what it holds, so PostgreSQL cannot write its next WAL segment.
   * Unmounted by stop() (removeServerDir), as by the next run's cleanup.
   */
  walTmpfsBytes?: number
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/**
 * createDatabase of the server at `port`: names unique across the run's workers and files (a server shared by the
 * run's files takes databases from processes whose pids may repeat).
 */
export function databaseMaker(port: number): TestPostgres['createDatabase'] {
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const prefix = `agw_test_${process.pid}_${randomBytes(4).toString('hex')}`
  let databases = 0
  return async (template?: string, admin?: pg.Client) => {
    const name = `${prefix}_${++databases}`
    const client = admin ?? new pg.Client({ connectionString: url })
    if (!admin) await client.connect()
    try {
      await client.query(
        template
          ? `CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY`
          : `CREATE DATABASE ${name}`,
      )
    } finally {
      if (!admin) await client.end()
    }
    return `postgres://postgres@127.0.0.1:${port}/${name}`
  }
}

export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const user = serverUser()
  const dir = makeOwnedDir(
    options.root ?? serversRoot(),
    options.kind ?? 'server',
    options.owner ?? suiteOwner(),
    user,
  )
  const data = path.join(dir, 'data')
  const pgCtl = pgProgram('pg_ctl')
  try {
    const template = process.env[templateVariable]
    if (template) runAs('cp', ['-a', template, data], user, dir)
    else runAs(pgProgram('initdb'), initdbArgs(data), user, dir)
    if (options.walTmpfsBytes) walOnTmpfs(dir, data, options.walTmpfsBytes, user)
    const port = await freePort()
    const settings = [
      `-p ${port}`,
      "-c listen_addresses='127.0.0.1'",
      `-c unix_socket_directories='${dir}'`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=300',
      // a test's databases live for a file at most: nothing to vacuum, yet the launcher started a worker per
      // database every minute (40 idle databases: 790 ms of CPU a minute, 50 ms without; docs/benchmarks.md)
      '-c autovacuum=off',
    ].join(' ')
    const start = () =>
      runAs(
        pgCtl,
        ['-D', data, '-o', settings, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start'],
        user,
        dir,
      )
    start()
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`
    let stopped = false
    return {
      url,
      port,
      dir,
      createDatabase: databaseMaker(port),
      async start() {
        start()
      },
      async stop() {
        if (stopped) return
        stopped = true
        removeServerDir(dir)
      },
    }
  } catch (err) {
    // a start that failed half-way (the port taken, say) leaves no server and no directory behind
    removeServerDir(dir)
    throw err
  }
}

/** Moves the cluster's pg_wal onto a tmpfs of `bytes` at `<dir>/wal` (its owner the server's user), linked from data/. */
function walOnTmpfs(dir: string, data: string, bytes: number, user: ServerUser | undefined): void {
  const wal = path.join(dir, 'wal')
  mkdirSync(wal)
  const owner = user ? `,uid=${user.uid},gid=${user.gid}` : ''
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}${owner},mode=0700`, 'tmpfs', wal])
  runAs('cp', ['-a', `${path.join(data, 'pg_wal')}/.`, wal], user, dir)
  rmSync(path.join(data, 'pg_wal'), { recursive: true })
  symlinkSync(wal, path.join(data, 'pg_wal'))
  if (user) lchownSync(path.join(data, 'pg_wal'), user.uid, user.gid)
}
