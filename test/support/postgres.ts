import { execFileSync, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'

/**
 * A throwaway PostgreSQL server for tests: initdb into a temporary directory, started with pg_ctl on a free
 * loopback port (and a unix socket in its directory), stopped and deleted by stop(). As root it runs as the
 * `postgres` user (PostgreSQL refuses root). Needs PostgreSQL's server binaries: PG_BIN, or Debian's
 * /usr/lib/postgresql/<version>/bin (`.ci/run` installs `postgresql`).
 */
export interface TestPostgres {
  /** postgres://… of the server's `postgres` database. */
  url: string
  port: number
  /** A new empty database; its URL. */
  createDatabase(): Promise<string>
  stop(): Promise<void>
}

function binDir(): string {
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

/** As root, who runs the server: the `postgres` user's uid and gid. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
  return { uid, gid }
}

let databases = 0

export async function startPostgres(): Promise<TestPostgres> {
  const bin = binDir()
  const user = serverUser()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agw-pg-'))
  if (user) chownSync(dir, user.uid, user.gid)
  const data = path.join(dir, 'data')
  const run = (cmd: string, args: string[]) => {
    const res = spawnSync(path.join(bin, cmd), args, { ...user, cwd: dir, encoding: 'utf8', timeout: 60_000 })
    if (res.status !== 0) throw new Error(`${cmd} failed: ${res.stderr || res.stdout || res.error?.message}`)
  }
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C'])
  const port = await freePort()
  const options = [
    `-p ${port}`,
    "-c listen_addresses='127.0.0.1'",
    `-c unix_socket_directories='${dir}'`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ')
  run('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start'])
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let stopped = false
  return {
    url,
    port,
    async createDatabase() {
      const name = `agw_test_${process.pid}_${++databases}`
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`
    },
    async stop() {
      if (stopped) return
      stopped = true
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
