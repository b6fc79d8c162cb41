import { describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import { PgEventBus } from '../../src/store/postgres/pg-event-bus.js'
import { newRun } from '../contract/store-contract.js'
import { startCuttingProxy } from '../support/cutting-proxy.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { within } from '../support/stubborn-agent.js'

const server = sharedPostgres()

/** `url` with its host and port those of `proxy` (an http:// URL of the same host's proxy). */
function through(url: string, proxy: string): string {
  const to = new URL(url)
  const by = new URL(proxy)
  to.hostname = by.hostname
  to.port = by.port
  return to.toString()
}

/** The events a subscriber got, and a wait for the one with seq `seq`. */
function received() {
  const events: StoredEvent[] = []
  const waits = new Map<number, () => void>()
  return {
    events,
    push(event: StoredEvent) {
      events.push(event)
      waits.get(event.seq)?.()
    },
    seq(seq: number): Promise<void> {
      if (events.some((e) => e.seq === seq)) return Promise.resolve()
      return new Promise((resolve) => waits.set(seq, resolve))
    },
  }
}

/**
 * The cross-node event bus's LISTEN connection only receives: one the network dropped without a FIN or RST (a
 * partition, a NAT mapping gone; a frozen server alike) looked open for ever, and a node's followers of runs on
 * other nodes got nothing more. It is now checked every STORE_QUERY_TIMEOUT_SECONDS (a SELECT 1 answered in time),
 * replaced when it is not, and its followers catch up from the table.
 */
describe('the event bus LISTEN connection, silently dropped', () => {
  it('is found within its check, replaced (LISTEN again), and its followers get what they missed', async () => {
    const url = await server.createStoreDatabase()
    const proxy = await startCuttingProxy(url.replace(/^postgres(ql)?:/, 'http:'))
    const storeA = await server.openStore(url)
    const storeB = await server.openStore(url)
    // node A listens through the proxy (its network), node B writes and notifies directly
    const busA = await PgEventBus.start(through(url, proxy.url), storeA.pool, 'node_a', 500)
    const busB = await PgEventBus.start(url, storeB.pool, 'node_b')
    try {
      const logB = new EventLog(storeB, busB)
      await storeB.createRun(newRun('run_1'))
      const got = received()
      busA.subscribe('run_1', (event) => got.push(event))
      await logB.append('run_1', { type: 'run.queued' })
      await got.seq(1)
      // the network drops the LISTEN connection without a word: nothing more through it, either way
      expect(proxy.stall()).toBe(1)
      await logB.append('run_1', { type: 'output', stream: 'stdout', data: 'missed\n' })
      // before: never (the connection looked open, its notices went nowhere)
      expect(await within(got.seq(2), 20_000, 'the missed event')).toBeUndefined()
      expect(got.events.find((e) => e.seq === 2)).toMatchObject({ type: 'output', data: 'missed\n' })
      // listening again: the next notice comes through the new connection
      await logB.append('run_1', { type: 'output', stream: 'stdout', data: 'live\n' })
      expect(await within(got.seq(3), 20_000, 'the next event')).toBeUndefined()
    } finally {
      await busA.close()
      await busB.close()
      await proxy.close()
    }
  })
})
