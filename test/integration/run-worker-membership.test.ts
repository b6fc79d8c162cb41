import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunManager } from '../../src/core/run-manager.js'
import { startRunWorker } from '../../src/core/run-worker.js'
import type { Run } from '../../src/protocol/runs.js'
import { PgBossRunQueue } from '../../src/store/postgres/pg-boss-run-queue.js'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { NotAMember, type Store } from '../../src/store/store.js'
import { newRun } from '../contract/store-contract.js'
import { startPostgres, type TestPostgres } from '../support/postgres.js'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

const node = (id: string) => ({ id, role: 'worker', host: 'h', pid: 1, startedAt: 't', heartbeatAt: 't' })

/** A run manager that only notes the runs handed to it. */
const noting = (adopted: (run: Run) => void) =>
  ({ adopt: async (run: Run) => adopted(run) }) as unknown as RunManager

describe('a worker taken for dead (marked lost, not fenced yet) and the queue', () => {
  it('it claims nothing it fetches: the job goes back to the queue, and another worker runs it', async () => {
    const url = await pg.createDatabase()
    const store = await PostgresStore.open(url)
    const queueA = await PgBossRunQueue.start(url)
    const queueB = await PgBossRunQueue.start(url)
    let stoppedA: Promise<void> | undefined
    const stopA = () => (stoppedA ??= queueA.stop())
    try {
      await store.registerNode(node('node_a'))
      await store.registerNode(node('node_b'))
      // another node found node_a dead and marked it before taking its work over
      await store.markNodesLost(['node_a'], 't')
      await store.admitRun(newRun('run_1'), null, 10)
      // node_a's view of the store: says when its claim was refused
      let refused!: () => void
      const wasRefused = new Promise<void>((resolve) => {
        refused = resolve
      })
      const storeA = new Proxy(store, {
        get(target, prop) {
          if (prop !== 'claimRun') return Reflect.get(target, prop)
          return (id: string, by: string) =>
            target.claimRun(id, by).catch((err: unknown) => {
              if (err instanceof NotAMember) refused()
              throw err
            })
        },
      }) as Store
      const byA: Run[] = []
      startRunWorker({
        queue: queueA,
        store: storeA,
        node: 'node_a',
        room: () => 1,
        runsOf: () => noting((r) => byA.push(r)),
      })
      await queueA.send('run_1')
      await wasRefused
      // node_a stops taking work (its poll in progress, the give-back included, ends first)
      await stopA()
      let adopted!: (run: Run) => void
      const adoptedByB = new Promise<Run>((resolve) => {
        adopted = resolve
      })
      startRunWorker({ queue: queueB, store, node: 'node_b', room: () => 1, runsOf: () => noting(adopted) })
      // without the give-back the job stays fetched by node_a until pg-boss expires it (60 s): past this test
      expect((await adoptedByB).id).toBe('run_1')
      expect(byA).toEqual([])
      expect(await store.ownerOf('run_1')).toBe('node_b')
    } finally {
      await stopA()
      await queueB.stop()
      await store.close()
    }
  }, 40_000)
})
