import { describe, expect, it } from 'vitest'
import type { RunManager } from '../../src/core/run-manager.js'
import { startRunWorker } from '../../src/core/run-worker.js'
import type { Run } from '../../src/protocol/runs.js'
import { PgBossRunQueue } from '../../src/store/postgres/pg-boss-run-queue.js'
import type { RunQueue } from '../../src/store/run-queue.js'
import { NotAMember, type Store } from '../../src/store/store.js'
import { newRun } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'

const pg = sharedPostgres()

const node = (id: string) => ({ id, role: 'worker', host: 'h', pid: 1, startedAt: 't', heartbeatAt: 't' })

/** A run manager that only notes the runs handed to it. */
const noting = (adopted: (run: Run) => void) =>
  ({ adopt: async (run: Run) => adopted(run) }) as unknown as RunManager

/** A healthy member (node_b) working `queue`: resolves with the first run it adopts. */
function healthyWorker(queue: RunQueue, store: Store): Promise<Run> {
  return new Promise<Run>((adopted) =>
    startRunWorker({
      queue,
      store,
      node: 'node_b',
      joins: () => 1,
      room: () => 1,
      runsOf: () => noting(adopted),
    }),
  )
}

describe('a worker taken for dead (marked lost, not fenced yet) and the queue', () => {
  it('it claims nothing it fetches: the job goes back to the queue, and another worker runs it', async () => {
    const url = await pg.createDatabase()
    const store = await pg.openStore(url)
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
        joins: () => 1,
        room: () => 1,
        runsOf: () => noting((r) => byA.push(r)),
      })
      await queueA.send('run_1')
      await wasRefused
      // node_a stops taking work (its poll in progress, the give-back included, ends first)
      await stopA()
      const adoptedByB = healthyWorker(queueB, store)
      // without the give-back the job stays fetched by node_a until pg-boss expires it (60 s): past this test
      expect((await adoptedByB).id).toBe('run_1')
      expect(byA).toEqual([])
      expect(await store.ownerOf('run_1')).toBe('node_b')
    } finally {
      await stopA()
      await queueB.stop()
    }
  }, 40_000)
})

/** A queue that says each time it polls (it asks how much room the worker has at the start of every poll). */
function polled(queue: RunQueue) {
  let polls = 0
  const waiting: { at: number; resolve: () => void }[] = []
  const counted: RunQueue = {
    send: (runId) => queue.send(runId),
    resendLost: (queuedBefore) => queue.resendLost(queuedBefore),
    stop: () => queue.stop(),
    work: (room, take) =>
      queue.work(() => {
        polls++
        for (const w of waiting.filter((w) => polls >= w.at)) w.resolve()
        return room()
      }, take),
  }
  /** Resolves once the queue polled `n` more times. */
  const nextPolls = (n: number) => new Promise<void>((resolve) => waiting.push({ at: polls + n, resolve }))
  return { queue: counted, nextPolls }
}

describe('a worker refused once (taken for dead) fetches nothing more until it has registered again', () => {
  it('gives the job back once, not at every poll; another worker runs it; registered again, it takes runs', async () => {
    const url = await pg.createDatabase()
    const store = await pg.openStore(url)
    const a = polled(await PgBossRunQueue.start(url))
    const queueB = await PgBossRunQueue.start(url)
    let stoppedB: Promise<void> | undefined
    const stopB = () => (stoppedB ??= queueB.stop())
    try {
      await store.registerNode(node('node_a'))
      await store.registerNode(node('node_b'))
      await store.markNodesLost(['node_a'], 't')
      await store.admitRun(newRun('run_1'), null, 10)
      await store.admitRun(newRun('run_2'), null, 10)
      // node_a's claims, as it makes them: each refusal is a give-back of the job it fetched
      let refusals = 0
      let firstRefusal!: () => void
      const refused = new Promise<void>((resolve) => {
        firstRefusal = resolve
      })
      const storeA = new Proxy(store, {
        get(target, prop) {
          if (prop !== 'claimRun') return Reflect.get(target, prop)
          return (id: string, by: string) =>
            target.claimRun(id, by).catch((err: unknown) => {
              if (err instanceof NotAMember) {
                refusals++
                firstRefusal()
              }
              throw err
            })
        },
      }) as Store
      let joinsA = 1
      const byA: Run[] = []
      let adoptedByA!: (run: Run) => void
      const nextByA = new Promise<Run>((resolve) => {
        adoptedByA = resolve
      })
      startRunWorker({
        queue: a.queue,
        store: storeA,
        node: 'node_a',
        joins: () => joinsA,
        room: () => 1,
        runsOf: () =>
          noting((r) => {
            byA.push(r)
            adoptedByA(r)
          }),
      })
      await a.queue.send('run_1')
      await refused
      // five more polls (~0.5 s): before, each fetched the job just given back and gave it back again
      await a.nextPolls(5)
      expect(refusals).toBe(1)
      // the job it gave back is at once for a healthy worker
      const adoptedByB = healthyWorker(queueB, store)
      expect((await adoptedByB).id).toBe('run_1')
      await stopB()
      // node_a fenced and registered again (a member once more): it fetches and claims again
      await store.registerNode(node('node_a'))
      joinsA++
      await a.queue.send('run_2')
      expect((await nextByA).id).toBe('run_2')
      expect(refusals).toBe(1)
      expect(byA.map((r) => r.id)).toEqual(['run_2'])
    } finally {
      await a.queue.stop()
      await stopB()
    }
  }, 40_000)
})
