import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { startPostgres, type TestPostgres } from '../support/postgres.js'
import { makeOwnedDir } from '../support/postgres-dirs.js'
import { removeOrphanedServers, removeServersOf } from '../support/postgres-leftovers.js'
import { templateVariable } from '../support/postgres-template.js'
import { runAs, serverUser } from '../support/postgres-tools.js'
import { deadOwner, ownerOf } from '../support/process-owner.js'
import { listProcesses, waitUntilGone } from '../support/processes.js'
import { runServer } from '../support/run-postgres.js'
import { sharedPostgres } from '../support/shared-postgres.js'

/**
 * A vitest run killed before its teardown (SIGKILL, a CI timeout) leaves its PostgreSQL servers running; the
 * next run's global setup stops those whose owner (a vitest process: pid and start time) is gone, and only
 * those. Each test works in a root of its own, not the suite's (serversRoot()), so what other runs on this
 * machine have there is left out of it.
 */
let roots = 0
function freshRoot(): string {
  // not under the worker's test dir: the server user (postgres, when the suite runs as root) must reach it
  return path.join(os.tmpdir(), `agw-pg-leftovers-test-${process.pid}-${++roots}`)
}

const postmasterPid = (server: TestPostgres) =>
  Number(readFileSync(path.join(server.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])

/** The databases of the server at `url`, by name. */
async function databases(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map(
      (r) => r.datname,
    )
  } finally {
    await client.end()
  }
}

/** A setting of the server at `url` (SHOW). */
async function setting(url: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(`SHOW ${name}`)).rows[0][name] as string
  } finally {
    await client.end()
  }
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

describe('PostgreSQL test servers left by killed runs', () => {
  it("stops and deletes what owners that are gone left (ended, or their pid reused), not a live owner's server", async () => {
    const root = freshRoot()
    const servers: TestPostgres[] = []
    try {
      // a run's shared server (run-postgres.ts): a file's own (`server-*`) is found the same way
      const orphan = await startPostgres({ root, owner: await deadOwner(), kind: 'shared' })
      servers.push(orphan)
      // its owner's pid runs, but it is another process now (a later start time): a reused pid
      const reusedPid = makeOwnedDir(root, 'server', { pid: process.pid, startTime: '1' })
      const live = await startPostgres({ root, owner: ownerOf(process.pid) })
      servers.push(live)
      const orphanPid = postmasterPid(orphan)
      expect(await answers(orphan.url)).toBe(true)

      const { removed, failed } = removeOrphanedServers(root)

      expect(failed).toEqual([])
      expect(removed.sort()).toEqual([orphan.dir, reusedPid].sort())
      expect(await answers(orphan.url)).toBe(false)
      const left = await waitUntilGone(() => listProcesses().filter((p) => p.pid === orphanPid), 10_000)
      expect(left).toEqual([])
      expect(existsSync(orphan.dir)).toBe(false)
      expect(existsSync(reusedPid)).toBe(false)
      expect(await answers(live.url)).toBe(true)
      expect(existsSync(live.dir)).toBe(true)
    } finally {
      for (const server of servers) await server.stop().catch(() => {})
      rmSync(root, { recursive: true, force: true })
    }
  })

  it("a run's teardown stops the servers of its own that a test left running, and names them; its shared server and template are removed without a word", async () => {
    const root = freshRoot()
    let forgotten: TestPostgres | undefined
    try {
      const run = ownerOf(process.pid)
      forgotten = await startPostgres({ root, owner: run })
      const shared = makeOwnedDir(root, 'shared', run)
      const template = makeOwnedDir(root, 'template', run)
      const otherRun = makeOwnedDir(root, 'server', ownerOf(process.ppid))

      expect(removeServersOf(root, run)).toEqual({
        servers: [forgotten.dir],
        shared: [shared],
        templates: [template],
      })
      expect(await answers(forgotten.url)).toBe(false)
      expect([shared, template].filter((d) => existsSync(d))).toEqual([])
      expect(existsSync(otherRun)).toBe(true)
    } finally {
      await forgotten?.stop().catch(() => {})
      rmSync(root, { recursive: true, force: true })
    }
  })
})

describe("a test server's cluster", () => {
  it("is a copy of the run's template (no initdb of its own)", async () => {
    const root = freshRoot()
    const runTemplate = process.env[templateVariable]
    let server: TestPostgres | undefined
    try {
      // global setup made the run's template; a marked copy of it stands in for it here
      expect(runTemplate && existsSync(path.join(runTemplate, 'PG_VERSION'))).toBe(true)
      const template = path.join(makeOwnedDir(root, 'template', ownerOf(process.pid), serverUser()), 'data')
      runAs('cp', ['-a', runTemplate as string, template], serverUser(), root)
      writeFileSync(path.join(template, 'copied-from-template'), '')
      process.env[templateVariable] = template
      server = await startPostgres({ root })
      expect(existsSync(path.join(server.dir, 'data', 'copied-from-template'))).toBe(true)
      expect(await answers(server.url)).toBe(true)
      expect(await setting(server.url, 'autovacuum')).toBe('off')
    } finally {
      if (runTemplate === undefined) delete process.env[templateVariable]
      else process.env[templateVariable] = runTemplate
      await server?.stop()
      rmSync(root, { recursive: true, force: true })
    }
  })
})

describe("a block's databases on the run's shared server (sharedPostgres)", () => {
  const made: string[] = []
  describe('the block', () => {
    const block = sharedPostgres()
    it('makes an empty database and a store database, and opens a store it leaves open', async () => {
      const empty = await block.createDatabase()
      const store = await block.createStoreDatabase()
      await block.openStore(store)
      made.push(...[empty, store].map((url) => new URL(url).pathname.slice(1)))
      expect(await databases(runServer()!.url)).toEqual(expect.arrayContaining(made))
    })
  })

  it('are dropped after it; the migrated template they were copied from stays, and the server runs without autovacuum', async () => {
    const server = runServer()
    expect(server, "global setup starts the run's server").toBeDefined()
    expect(made).toHaveLength(2)
    const left = await databases(server!.url)
    expect(left.filter((name) => made.includes(name))).toEqual([])
    expect(left).toContain('agw_store_template')
    expect(await setting(server!.url, 'autovacuum')).toBe('off')
  })
})
