import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { PgEventBus } from '../../src/store/postgres/pg-event-bus.js'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { describeStoreContract, newRun } from '../contract/store-contract.js'
import { startPostgres, type TestPostgres } from '../support/postgres.js'

let server: TestPostgres
beforeAll(async () => {
  server = await startPostgres()
}, 60_000)
afterAll(async () => {
  await server?.stop()
})

describeStoreContract('postgres', {
  async fresh() {
    const url = await server.createDatabase()
    return { store: await PostgresStore.open(url), connect: () => PostgresStore.open(url) }
  },
})

describe('PgEventBus: events stored on one node are streamed live on another', () => {
  const completed = {
    type: 'run.completed' as const,
    status: 'succeeded' as const,
    exitCode: 0,
    signal: null,
    reason: 'exited' as const,
    finalResponse: 'x',
    usage: null,
  }

  it('a subscriber on node B follows a run appended on node A: complete, ordered, large events too', async () => {
    const url = await server.createDatabase()
    const storeA = await PostgresStore.open(url)
    const storeB = await PostgresStore.open(url)
    const busA = await PgEventBus.start(url, storeA.pool, 'node_a')
    const busB = await PgEventBus.start(url, storeB.pool, 'node_b')
    try {
      const logA = new EventLog(storeA, busA)
      const logB = new EventLog(storeB, busB)
      await storeA.createRun(newRun('run_x'))
      await logA.append('run_x', { type: 'run.queued' })
      await logA.append('run_x', { type: 'turn.started' })
      let finished = false
      const seen: StoredEvent[] = []
      const reading = (async () => {
        for await (const ev of logB.subscribe(
          'run_x',
          1,
          (e) => e.type === 'run.completed',
          async () => finished,
        ))
          seen.push(ev)
      })()
      for (let i = 0; i < 200; i++)
        await logA.append('run_x', {
          type: 'item.delta',
          itemId: 'i',
          delta: i === 100 ? 'y'.repeat(20_000) : `${i}`,
        })
      await logA.append('run_x', completed)
      finished = true
      await reading
      expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: 202 }, (_, i) => i + 2))
      expect(seen.find((e) => e.seq === 103)).toMatchObject({ delta: 'y'.repeat(20_000) })
    } finally {
      await busA.close()
      await busB.close()
      await storeA.close()
      await storeB.close()
    }
  })
})
