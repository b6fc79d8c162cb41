import { spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { freezeOnStatement } from '../support/postgres-freeze.js'
import { signalPostgres } from '../support/postgres-signals.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { within } from '../support/stubborn-agent.js'

// a server of its own: the test freezes it (SIGSTOP), which every other file on a shared server would feel
const server = sharedPostgres({ ownServer: true })
const freeze = () => signalPostgres(server.ownServer().dir, 'SIGSTOP')
const thaw = () => signalPostgres(server.ownServer().dir, 'SIGCONT')

gatewayModules()

/** Freezes the server as a pool connection of `store` is about to send its next COMMIT (once); resolves then. */
const freezeAtCommit = async (store: PostgresStore): Promise<void> => {
  await freezeOnStatement(store, freeze, (text) => text === 'COMMIT')
}

/**
 * A gateway stopped while its PostgreSQL server hangs (SIGSTOP) with a run's COMMIT sent and not answered, and its
 * worker's pg-boss polling: the stop waits for the store no longer than STORE_QUERY_TIMEOUT_SECONDS after its runs
 * were ended, then destroys the store's connections (pg-boss's, the LISTEN ones and the liveness lock's too) and
 * says that the COMMIT's outcome is unknown. Before, it waited for the server, without bound: a process stopped
 * by SIGTERM during a freeze never exited.
 */
describe('a gateway stopped while its PostgreSQL server hangs', () => {
  let gw: TestGateway | undefined
  /** The test's stop, once called: waited for after the server is continued, never called twice. */
  let stopping: Promise<unknown> | undefined
  let frozen = false
  afterAll(async () => {
    if (frozen) thaw()
    await (stopping ?? gw?.close(0))
  })

  it('finishes within its bound, its store connections destroyed, the COMMIT whose outcome is unknown logged as such', async () => {
    const url = await server.createStoreDatabase()
    const logged: string[] = []
    gw = await startGateway(
      null,
      {
        DATABASE_URL: url,
        GATEWAY_ROLE: 'worker',
        CLI_LIST: 'sh',
        STORE_QUERY_TIMEOUT_SECONDS: '2',
        SHUTDOWN_GRACE_SECONDS: '0',
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
      },
      { logSink: { write: (line) => void logged.push(line) } },
    )
    const release = path.join(gw.workspace, 'release')
    expect(spawnSync('mkfifo', [release]).status).toBe(0)
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', 'echo before; read x < release; echo after; sleep 600'] },
    })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as Run
    for await (const ev of gw.ctx.runs.events(id, 0)) if (ev.type === 'output') break
    const store = gw.ctx.store as PostgresStore
    const atCommit = freezeAtCommit(store)
    try {
      // the run's `after`: its transaction's statements answered, then the server freezes as COMMIT is sent
      await writeFile(release, 'go\n')
      await atCommit
      frozen = true
      stopping = gw.close(0)
      const stopped = stopping.then(() => 'stopped')
      // before: it waited for the server (here until SIGCONT below), with its COMMIT and pg-boss's fetch pending
      expect(await within(stopped, 60_000, 'the stop')).toBe('stopped')
      gw = undefined
      // every connection of the store's pool destroyed, none waiting for the server any more
      expect(store.pool.totalCount).toBe(0)
      const lines = logged.map((l) => JSON.parse(l) as { msg: string })
      expect(lines.map((l) => l.msg)).toContainEqual(
        expect.stringMatching(/1 COMMIT .*not answered.*whether it was stored is unknown/),
      )
      // its record is left to a takeover, said so; its removal is not tried on the destroyed connections (it
      // failed "Cannot use a pool after calling end on the pool")
      expect(lines.map((l) => l.msg)).toContainEqual(
        expect.stringMatching(/^this node's record is not removed: the stop's bound for the store \(2000 ms/),
      )
      expect(lines.filter((l) => /removing this node|Cannot use a pool/.test(l.msg))).toEqual([])
    } finally {
      if (frozen) thaw()
      frozen = false
    }
  })
})
