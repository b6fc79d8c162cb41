import { randomBytes } from 'node:crypto'
import net from 'node:net'
import path from 'node:path'
import pg from 'pg'
import { type DirKind, makeOwnedDir } from './postgres-dirs.js'
import { removeServerDir } from './postgres-leftovers.js'
import { initdbArgs, templateVariable } from './postgres-template.js'
import { pgProgram, runAs, serversRoot, serverUser } from './postgres-tools.js'
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
  stop(): Promise<void>
}

export interface PostgresOptions {
  /** Where its directory goes: serversRoot() unless a test of the cleanup says otherwise. */
  root?: string
  /** Whom it belongs to: the suite's vitest process (suiteOwner()) unless a test says otherwise. */
  owner?: ProcessOwner
  /** 'shared': the run's one server (run-postgres.ts), which the run's teardown stops without calling it a leak. */
  kind?: Extract<DirKind, 'server' | 'shared'>
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
    runAs(
      pgCtl,
      ['-D', data, '-o', settings, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start'],
      user,
      dir,
    )
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`
    let stopped = false
    return {
      url,
      port,
      dir,
      createDatabase: databaseMaker(port),
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
