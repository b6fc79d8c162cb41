import { databaseMaker, startPostgres, type TestPostgres } from './postgres.js'
import { removeServersOf } from './postgres-leftovers.js'
import type { ProcessOwner } from './process-owner.js'

/** Global setup hands the run's shared server to the workers in this variable (its port and directory). */
export const runServerVariable = 'AGW_PG_SERVER'

/**
 * The run's one PostgreSQL server, which the files' sharedPostgres() take their databases from (a server per file
 * cost 0.5-1 s of CPU each, ~27 files). Global setup starts it (a copy of the template, like any test server) in a
 * `shared-*` directory of the vitest process, and its teardown stops and deletes it, as the next run does if this
 * one is killed (postgres-leftovers.ts). Every file works in databases of its own (LISTEN/NOTIFY, advisory locks
 * and pg_stat_activity's datname are per database), so files stay independent and run side by side.
 */
export async function startRunServer(root: string, owner: ProcessOwner): Promise<TestPostgres> {
  const server = await startPostgres({ root, owner, kind: 'shared' })
  process.env[runServerVariable] = JSON.stringify({ port: server.port, dir: server.dir })
  return server
}

/** The run's shared server as a worker sees it (not stopped by the worker), or undefined outside such a run. */
export function runServer(): Omit<TestPostgres, 'stop' | 'start'> | undefined {
  const recorded = process.env[runServerVariable]
  if (!recorded) return undefined
  const { port, dir } = JSON.parse(recorded) as { port: number; dir: string }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    createDatabase: databaseMaker(port),
  }
}

/**
 * On SIGINT or SIGTERM vitest exits at once, without global teardown: the servers, shared server and template of
 * the run (`owner`) are stopped and deleted on the way out (pg_ctl -m immediate, synchronously, in the signal's
 * listener and at `exit`), not left for the next run to find. Returns what takes the listeners off again (the
 * teardown, which does the same and checks for leaks). A run killed with SIGKILL is the next run's to clean up.
 */
export function removeServersOnExit(root: string, owner: ProcessOwner): () => void {
  const remove = () => {
    try {
      removeServersOf(root, owner)
    } catch {
      // what still runs is the next run's (removeOrphanedServers)
    }
  }
  process.once('SIGINT', remove)
  process.once('SIGTERM', remove)
  process.once('exit', remove)
  return () => {
    process.off('SIGINT', remove)
    process.off('SIGTERM', remove)
    process.off('exit', remove)
  }
}
