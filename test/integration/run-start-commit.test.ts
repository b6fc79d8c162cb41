import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AgentRegistry } from '../../src/agents/registry.js'
import { loadConfig } from '../../src/config/load.js'
import { ActiveRuns } from '../../src/core/active-runs.js'
import { EventLog } from '../../src/core/event-log.js'
import { RunManager } from '../../src/core/run-manager.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { Store } from '../../src/store/store.js'
import { nodeRecord } from '../contract/store-contract.js'
import { removeDir, tempDir } from '../support/temp.js'

/** The store calls that write a run's record or its events. */
const writes = new Set(['updateRun', 'updateRunWithEvents', 'appendEvent', 'appendEvents', 'appendRunEnd'])

/**
 * The store, checking after each write that commits what it must never commit: a run recorded `running` whose
 * stored events lack its `run.started` (a node stopped or killed right after that write, as the cluster's
 * SIGSTOP of a worker does, would leave that history for good). Each such moment is added to `seen`.
 */
function checkingStarts(store: SqliteStore, runIds: () => string[], seen: string[]): Store {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown
      if (typeof value !== 'function') return value
      if (typeof prop !== 'string' || !writes.has(prop)) return value.bind(target)
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        for (const id of runIds()) {
          const run = await target.getRun(id)
          const events = await target.eventsAfter(id, 0, 1000)
          if (run?.status === 'running' && !events.some((e) => e.type === 'run.started'))
            seen.push(`${prop} left ${id} running without its run.started`)
        }
        return result
      }
    },
  })
}

describe("a run's start: its running state and its run.started in one commit (real cli driver, SQLite)", () => {
  const dirs: string[] = []
  const stores: SqliteStore[] = []
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  it('no write leaves a run running without its run.started, and the run still starts, runs and ends', async () => {
    const workspace = tempDir('run-start-commit-')
    dirs.push(workspace)
    const sqlite = new SqliteStore(path.join(workspace, 'gw.db'))
    stores.push(sqlite)
    await sqlite.registerNode(nodeRecord('node_a'))
    const ids: string[] = []
    const seen: string[] = []
    const store = checkingStarts(sqlite, () => ids, seen)
    const config = loadConfig(
      { WORKSPACE_ROOTS: workspace, CLI_LIST: 'sh', DATA_DIR: `${workspace}-data` },
      workspace,
    )
    const registry = AgentRegistry.fromConfig(config, process.env)
    const runs = new RunManager(store, new EventLog(store), registry, config, new ActiveRuns(), 'node_a')
    for (const script of ['echo one', 'echo two; echo three >&2']) {
      const run = await runs.submit('cli', {
        command: { cli: 'sh', args: ['-c', script], env: {} },
        cwd: workspace,
      })
      ids.push(run.id)
      const ended = await runs.wait(run.id)
      expect(ended).toMatchObject({ status: 'succeeded' })
      const stored = await sqlite.getRun(run.id)
      expect(stored?.startedAt).toEqual(expect.any(String))
      expect(stored?.pid).toEqual(expect.any(Number))
      const events = await sqlite.eventsAfter(run.id, 0, 100)
      expect(events[0]?.type).toBe('run.queued')
      expect(events[1]).toMatchObject({ type: 'run.started', pid: stored?.pid })
      expect(events.at(-1)?.type).toBe('run.completed')
      // the run record's last seq is its history's (the start's write moved it with its event)
      expect(stored?.lastSeq).toBe(events.at(-1)?.seq)
    }
    expect(seen).toEqual([])
  })
})
