import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { terminalPatch } from '../../src/core/run-record.js'
import { endMissingRuns } from '../../src/core/run-recovery.js'
import type { RunCompletedEvent, StoredEvent } from '../../src/protocol/events.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newRun, nodeRecord } from '../contract/store-contract.js'
import { gatewayModules, readNdjson, startGateway, type TestGateway } from '../support/gateway.js'
import { tempDir } from '../support/temp.js'

const end: RunCompletedEvent = {
  type: 'run.completed',
  status: 'succeeded',
  exitCode: 0,
  signal: null,
  reason: 'exited',
  finalResponse: 'done',
  usage: { inputTokens: 3, cachedInputTokens: 0, outputTokens: 2, reasoningOutputTokens: 0 },
}

gatewayModules()

/**
 * A node that died between a run's two end writes (its record, then its run.completed: recordRunEnd) left a run
 * recorded finished whose stream has no end. The next gateway to start on the store (the real SQLite file) finds
 * the node dead and writes that end from the record, once: readers get the end (not a 10 s wait for one that
 * never comes), and a later start writes nothing more.
 */
describe('a finished run whose run.completed a dead node never stored', () => {
  const gateways: TestGateway[] = []
  afterEach(async () => {
    for (const gw of gateways.splice(0)) await gw.close()
  })

  async function events(gw: TestGateway, id: string): Promise<StoredEvent[]> {
    const res = await fetch(`${gw.url}/v1/runs/${id}/events`, { headers: { accept: 'application/x-ndjson' } })
    expect(res.status).toBe(200)
    return (await readNdjson(res)) as unknown as StoredEvent[]
  }

  it('gets that end at the next start, from its record, once', async () => {
    const dataDir = tempDir('run-end-recovery-')
    const store = new SqliteStore(path.join(dataDir, 'agent-gateway.db'))
    // silent since long ago: dead by its heartbeat; it holds nothing unfinished (no owner in use)
    await store.registerNode(nodeRecord('node_dead'))
    await store.admitRun(newRun('run_1'), 'node_dead', 10)
    await store.appendEvent('run_1', { type: 'run.queued' }, '2026-01-01T00:00:00.000Z')
    await store.appendEvent('run_1', { type: 'run.started', agent: 'codex-exec' }, '2026-01-01T00:00:00.000Z')
    // the record is written (finished), and the node dies before the event
    await store.updateRun(
      'run_1',
      { ...terminalPatch(end), startedAt: '2026-01-01T00:00:00.000Z' },
      'node_dead',
    )
    // a run that ended whole is left as it is
    await store.admitRun(newRun('run_2'), 'node_dead', 10)
    await store.appendEvent('run_2', end, '2026-01-01T00:00:01.000Z')
    await store.updateRun('run_2', terminalPatch(end))
    await store.close()

    const gw = await startGateway(null, { DATA_DIR: dataDir })
    gateways.push(gw)
    const stored = await events(gw, 'run_1')
    expect(stored.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'run.completed'])
    expect(stored.at(-1)).toMatchObject({ ...end, seq: 3, runId: 'run_1' })
    const run = (await (await fetch(`${gw.url}/v1/runs/run_1`)).json()) as Record<string, unknown>
    expect(run).toMatchObject({ status: 'succeeded', finalResponse: 'done', reason: 'exited' })
    expect((await events(gw, 'run_2')).map((e) => e.type)).toEqual(['run.completed'])
    await gw.close()
    gateways.splice(0)

    // another start finds nothing missing: the end stays written once
    const again = await startGateway(null, { DATA_DIR: dataDir })
    gateways.push(again)
    expect((await events(again, 'run_1')).map((e) => e.type)).toEqual([
      'run.queued',
      'run.started',
      'run.completed',
    ])
  })

  it('a taker taken over in turn before it wrote the end lets it go: the new owner writes it, once', async () => {
    const store = new SqliteStore(path.join(tempDir('run-end-recovery-'), 'gw.db'))
    try {
      for (const id of ['node_dead', 'node_b', 'node_c']) await store.registerNode(nodeRecord(id))
      await store.admitRun(newRun('run_1'), 'node_dead', 10)
      await store.appendEvent('run_1', { type: 'run.queued' }, '2026-01-01T00:00:00.000Z')
      await store.updateRun('run_1', terminalPatch(end), 'node_dead')
      // node_b stalls between its takeover and its write: node_c takes node_b for dead and the run with it (and
      // has not written the end yet when node_b's write comes)
      const stalling = new Proxy(store, {
        get(target, key) {
          if (key === 'appendRunEnd')
            return async (...args: Parameters<SqliteStore['appendRunEnd']>) => {
              const moved = await target.takeOverRunsMissingEnd(['node_b'], 'node_c')
              expect(moved.map((r) => r.id)).toEqual(['run_1'])
              return target.appendRunEnd(...args)
            }
          const value = Reflect.get(target, key) as unknown
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
      const b = { store: stalling, log: new EventLog(stalling), node: 'node_b' }
      // refused by the fence (RunTakenOver), let go: not an error of node_b's recovery
      expect(await endMissingRuns(b, ['node_dead'])).toBe(0)
      expect((await store.eventsAfter('run_1', 0, 10)).map((e) => e.type)).toEqual(['run.queued'])
      expect(await store.ownerOf('run_1')).toBe('node_c')
      // node_c's write (its takeover moved the run to it: found among its own runs here)
      const c = { store, log: new EventLog(store), node: 'node_c' }
      expect(await endMissingRuns(c, ['node_c'])).toBe(1)
      expect(await endMissingRuns(c, ['node_b', 'node_c', 'node_dead'])).toBe(0)
      const stored = await store.eventsAfter('run_1', 0, 10)
      expect(stored.map((e) => e.type)).toEqual(['run.queued', 'run.completed'])
    } finally {
      await store.close()
    }
  })
})
