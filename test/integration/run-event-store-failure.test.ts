import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AgentRegistry } from '../../src/agents/registry.js'
import { loadConfig } from '../../src/config/load.js'
import { ActiveRuns } from '../../src/core/active-runs.js'
import { EventLog } from '../../src/core/event-log.js'
import { RunManager } from '../../src/core/run-manager.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import type { EventFence, EventToAppend, Store } from '../../src/store/store.js'
import { nodeRecord } from '../contract/store-contract.js'
import { removeDir, tempDir } from '../support/temp.js'

const lost = (event: AgentEvent) => event.type === 'output' && event.data.includes('lost')

/** The store, except that it refuses (a transient error, as a dropped connection gives) events that say `lost`. */
function refusingLost(store: Store): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'appendEvent')
        return async (owner: string, event: AgentEvent, at: string, fence?: EventFence) => {
          if (lost(event)) throw new Error('Connection terminated unexpectedly')
          return target.appendEvent(owner, event, at, fence)
        }
      if (prop === 'appendEvents')
        return async (batch: readonly EventToAppend[]) => {
          if (batch.some((b) => lost(b.event))) throw new Error('Connection terminated unexpectedly')
          return target.appendEvents(batch)
        }
      const value = Reflect.get(target, prop) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * A run whose output could not be stored did not succeed: its history misses that output, so the run is recorded
 * `failed` with why, whatever its agent's own end said (the store's refusal of the last output is found only after
 * the agent ended). Before, such a run was recorded `succeeded`, its stream complete in seqs and silently short.
 */
describe("a run's events the store refuses (real cli driver, SQLite)", () => {
  const dirs: string[] = []
  const stores: SqliteStore[] = []
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close()
    for (const d of dirs.splice(0)) removeDir(d)
  })

  async function runOf(script: string, refusing: (store: Store) => Store = refusingLost) {
    const { runs, sqlite, workspace } = await managerOf(refusing)
    const run = await runs.submit('cli', {
      command: { cli: 'sh', args: ['-c', script], env: {} },
      cwd: workspace,
    })
    const ended = await runs.wait(run.id)
    return { ended, events: await sqlite.eventsAfter(run.id, 0, 100) }
  }

  /** A RunManager of the cli agent on a store `refusing` wraps, its end retried every `retryMs` (1 ms). */
  async function managerOf(refusing: (store: Store) => Store, retryMs = 1) {
    const workspace = tempDir('run-store-failure-')
    dirs.push(workspace)
    const sqlite = new SqliteStore(path.join(workspace, 'gw.db'))
    stores.push(sqlite)
    await sqlite.registerNode(nodeRecord('node_a'))
    const store = refusing(sqlite)
    const log = new EventLog(store)
    const config = loadConfig(
      { WORKSPACE_ROOTS: workspace, CLI_LIST: 'sh', DATA_DIR: `${workspace}-data` },
      workspace,
    )
    const registry = AgentRegistry.fromConfig(config, process.env)
    const runs = new RunManager(store, log, registry, config, new ActiveRuns(), 'node_a', undefined, {
      retryMs: [retryMs],
    })
    return { runs, sqlite, workspace, log }
  }

  it('its last output refused: the run is failed, not succeeded with that output missing', async () => {
    const { ended, events } = await runOf('echo lost')
    expect(ended).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('storing its events failed'),
    })
    expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'run.completed'])
    expect(events.at(-1)).toMatchObject({ status: 'failed', exitCode: null })
  })

  it('an output refused while the agent runs on: the agent stops, the run is failed and says why', async () => {
    const { ended, events } = await runOf('echo lost; exec sleep 60')
    expect(ended).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('storing its events failed'),
    })
    expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'run.completed'])
  })

  it('its run.queued refused (a full disk): the submit fails, and the admitted run is ended failed, not left queued', async () => {
    // before: the run stayed `queued` until a restart, holding a slot of MAX_QUEUED_RUNS
    const { runs, sqlite, workspace } = await managerOf(refusingFirst('run.queued'))
    await expect(
      runs.submit('cli', { command: { cli: 'sh', args: ['-c', 'echo never'], env: {} }, cwd: workspace }),
    ).rejects.toThrow('database or disk is full')
    const [admitted] = await sqlite.listRuns({ limit: 10 })
    expect(admitted).toBeDefined()
    const ended = await runs.wait(admitted!.id)
    expect(ended).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('storing its events failed'),
    })
    expect((await sqlite.eventsAfter(ended.id, 0, 100)).map((e) => e.type)).toEqual(['run.completed'])
  })

  it('its end refused once (a full disk, a dropped connection): tried again and stored, the gateway unharmed', async () => {
    // before: the refusal was an unhandled rejection (it ended the gateway), the run left `running` for good
    const { ended, events } = await runOf('echo fine', refusingEndOnce)
    expect(ended).toMatchObject({ status: 'succeeded', exitCode: 0 })
    expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'output', 'run.completed'])
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4])
  })

  it('a reader that comes while its end is tried again gets every event, the run.completed last, once it is stored', async () => {
    // before: the run's record was stored finished and its run.completed refused, so such a reader found the run
    // ended and its end missing, waited EventLog.endGraceMs (10 s), and its stream ended without the end
    const full = refusingEndWhileFull()
    const { runs, log, workspace } = await managerOf(full.store, 5)
    log.endGraceMs = 1
    const run = await runs.submit('cli', {
      command: { cli: 'sh', args: ['-c', 'echo fine'], env: {} },
      cwd: workspace,
    })
    await full.refusals(1)
    const looked = full.nextRunRead()
    const reading = (async () => {
      const got: StoredEvent[] = []
      for await (const ev of runs.events(run.id, 0)) got.push(ev)
      return got
    })()
    // the reader replayed what is stored and looked at the run's record; two refusals later (at least one retry
    // interval, far beyond the grace) the store takes writes again
    await looked
    await full.refusals(full.refused + 2)
    full.spaceBack()
    const got = await reading
    expect(got.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'output', 'run.completed'])
    expect(got.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(await runs.wait(run.id)).toMatchObject({ status: 'succeeded', exitCode: 0 })
  })
})

/** The store, except that it refuses the first `run.completed` as SQLite does on a full disk (nothing stored). */
function refusingEndOnce(store: Store): Store {
  return refusingFirst('run.completed')(store)
}

/**
 * The store, except that it refuses every `run.completed` as SQLite does on a full disk (nothing stored), until
 * `spaceBack`; `refusals(n)` resolves once it refused n; `nextRunRead` once the run's record is read next.
 */
function refusingEndWhileFull() {
  let full = true
  let readAsked: (() => void) | undefined
  const waiting: { n: number; resolve: () => void }[] = []
  const state = {
    refused: 0,
    refusals: (n: number) =>
      new Promise<void>((resolve) => {
        if (state.refused >= n) resolve()
        else waiting.push({ n, resolve })
      }),
    nextRunRead: () =>
      new Promise<void>((resolve) => {
        readAsked = resolve
      }),
    spaceBack: () => {
      full = false
    },
    store: (store: Store): Store => refusing(store),
  }
  const refuse = (events: readonly AgentEvent[]) => {
    if (!full || !events.some((e) => e.type === 'run.completed')) return
    state.refused++
    for (const w of waiting.filter((w) => w.n <= state.refused)) {
      waiting.splice(waiting.indexOf(w), 1)
      w.resolve()
    }
    throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
  }
  const refusing = (store: Store): Store =>
    new Proxy(store, {
      get(target, prop) {
        if (prop === 'getRun')
          return async (id: string) => {
            const run = await target.getRun(id)
            readAsked?.()
            readAsked = undefined
            return run
          }
        return refusingIn(target, prop, refuse)
      },
    })
  return state
}

/** The store's `prop`, its event writes first shown to `refuse` (which throws to refuse them). */
function refusingIn(target: Store, prop: string | symbol, refuse: (events: readonly AgentEvent[]) => void) {
  if (prop === 'appendEvent')
    return async (owner: string, event: AgentEvent, at: string, fence?: EventFence) => {
      refuse([event])
      return target.appendEvent(owner, event, at, fence)
    }
  if (prop === 'appendEvents')
    return async (batch: readonly EventToAppend[]) => {
      refuse(batch.map((b) => b.event))
      return target.appendEvents(batch)
    }
  if (prop === 'admitRun')
    return async (...args: Parameters<Store['admitRun']>) => {
      refuse((args[3] ?? []).map((b) => b.event))
      return target.admitRun(...args)
    }
  if (prop === 'updateRunWithEvents')
    return async (...args: Parameters<Store['updateRunWithEvents']>) => {
      refuse(args[3].map((b) => b.event))
      return target.updateRunWithEvents(...args)
    }
  const value = Reflect.get(target, prop) as unknown
  return typeof value === 'function' ? value.bind(target) : value
}

/** The store, except that it refuses the first event of `type` as SQLite does on a full disk (nothing stored). */
const refusingFirst =
  (type: AgentEvent['type']) =>
  (store: Store): Store => {
    let refused = false
    const refuse = (events: readonly AgentEvent[]) => {
      if (refused || !events.some((e) => e.type === type)) return
      refused = true
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
    }
    return new Proxy(store, { get: (target, prop) => refusingIn(target, prop, refuse) })
  }
