import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AgentRegistry } from '../../src/agents/registry.js'
import { loadConfig } from '../../src/config/load.js'
import { ActiveRuns } from '../../src/core/active-runs.js'
import type { EndRetry } from '../../src/core/end-retry.js'
import { EventLog } from '../../src/core/event-log.js'
import { NodeMembership } from '../../src/core/node-membership.js'
import { FencingNotices } from '../../src/core/ops/fencing-notices.js'
import type { StoreNotices } from '../../src/core/ops/store-notices.js'
import type { RunCluster } from '../../src/core/run-cluster.js'
import { RunManager } from '../../src/core/run-manager.js'
import { isProcessAlive } from '../../src/process/alive.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { NodeSignals } from '../../src/store/node-signals.js'
import type { Store } from '../../src/store/store.js'
import { newRun, nodeRecord } from '../contract/store-contract.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * Fencing a run's own events (PostgreSQL, the real `cli` driver running a shell): node A runs an agent, another
 * node (B) takes A for dead and takes the run over (recorded `interrupted`, `worker_lost`) while A's agent still
 * runs (A paused: B found it silent, on another machine, so it could not end A's process). A's agent then writes
 * more output: A's first event after the takeover is refused in its append, A stops the agent at once (before
 * any heartbeat of A's, none runs here), and the run's history is B's: nothing of A's after B's end.
 */
describe("a stale node's run events (PostgreSQL)", () => {
  const pg = sharedPostgres()
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) removeDir(d)
  })

  /** A node's RunManager in a cluster (signals make it carry its node on every write), without heartbeats. */
  function nodeOf(store: Store, node: string, workspace: string, endRetry?: EndRetry) {
    const config = loadConfig(
      { WORKSPACE_ROOTS: workspace, CLI_LIST: 'sh', DATA_DIR: `${workspace}-data` },
      workspace,
    )
    const registry = AgentRegistry.fromConfig(config, process.env)
    const fencing = new FencingNotices()
    const signals: NodeSignals = { send: async () => {}, onMessage: () => {}, close: async () => {} }
    // B judges A from its heartbeat alone: A ran on another machine (B cannot end A's processes)
    const membership = { wasLocal: () => false } as unknown as NodeMembership
    const cluster: RunCluster = { role: 'all', membership, signals, fencing }
    const log = new EventLog(store)
    const runs = new RunManager(store, log, registry, config, new ActiveRuns(), node, cluster, endRetry)
    return { runs, fencing, log }
  }

  it('are refused once another node took the run over: the agent stops at the first, the history stays the taker’s', async () => {
    const store = await pg.openStore()
    await store.registerNode(nodeRecord('node_a'))
    await store.registerNode(nodeRecord('node_b'))
    const workspace = tempDir('run-fencing-')
    dirs.push(workspace)
    const release = path.join(workspace, 'release')
    expect(spawnSync('mkfifo', [release]).status).toBe(0)
    const a = nodeOf(store, 'node_a', workspace)
    const b = nodeOf(store, 'node_b', workspace)
    // the agent: one line, then waits for the test, then another line, then would run on for a minute
    const script = `echo $$ > pid; echo before; read x < release; echo after; exec sleep 60`
    const run = await a.runs.submit('cli', {
      command: { cli: 'sh', args: ['-c', script], env: {} },
      cwd: workspace,
    })
    let pid: number | undefined
    try {
      await firstOutput(a.runs, run.id, 'before')
      pid = Number(readFileSync(path.join(workspace, 'pid'), 'utf8'))
      expect(isProcessAlive(pid)).toBe(true)
      // node B takes node_a for dead and takes the run over (records its end)
      expect(await b.runs.recover(['node_a'], 'worker_lost')).toBe(1)
      // node A's agent goes on: its next output is refused, and the agent stopped (not after sleep 60)
      await writeFile(release, 'go\n')
      await a.runs.wait(run.id)
      expect(isProcessAlive(pid)).toBe(false)
      expect(a.fencing.runsLetGo).toBe(1)
      const events = await store.eventsAfter(run.id, 0, 100)
      const outputs = events.flatMap((e) => (e.type === 'output' ? [e.data] : []))
      expect(outputs.join('')).toBe('before\n')
      expect(events.filter((e) => e.type === 'run.completed')).toEqual([
        expect.objectContaining({ status: 'interrupted', reason: 'worker_lost' }),
      ])
      expect(events.at(-1)?.type).toBe('run.completed')
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
      expect(await store.getRun(run.id)).toMatchObject({ status: 'interrupted', reason: 'worker_lost' })
      expect(await store.ownerOf(run.id)).toBe('node_b')
    } finally {
      // a failed assertion leaves the agent running: end it (its run then ends)
      if (pid !== undefined && isProcessAlive(pid)) process.kill(pid, 'SIGKILL')
      await a.runs.wait(run.id).catch(() => {})
    }
  }, 30_000)

  it("a run's end the database refuses (its disk full), tried again: a reader that comes meanwhile gets it once stored", async () => {
    // before: the run's record was stored finished and its run.completed refused, so such a reader found the run
    // ended without its end, waited EventLog.endGraceMs and its stream ended without the run.completed
    const sql = await pg.openStore()
    await sql.registerNode(nodeRecord('node_a'))
    // the database refuses every run.completed as a full disk refuses a write, until the trigger is dropped
    await sql.pool.query(`CREATE FUNCTION refuse_end() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
      CREATE TRIGGER refuse_end BEFORE INSERT ON events FOR EACH ROW WHEN (NEW.type = 'run.completed')
      EXECUTE FUNCTION refuse_end()`)
    const workspace = tempDir('run-end-refused-')
    dirs.push(workspace)
    const refusals = counter()
    const runReads = counter()
    const store = new Proxy(sql, {
      get(target, prop) {
        if (prop === 'getRun')
          return async (id: string) => {
            const run = await target.getRun(id)
            runReads.add()
            return run
          }
        const value = Reflect.get(target, prop) as unknown
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const notices = { endFailed: () => refusals.add() } as unknown as StoreNotices
    const a = nodeOf(store, 'node_a', workspace, { notices, retryMs: [5] })
    a.log.endGraceMs = 1
    const run = await a.runs.submit('cli', {
      command: { cli: 'sh', args: ['-c', 'echo fine'], env: {} },
      cwd: workspace,
    })
    await refusals.reach(1)
    const looked = runReads.reach(runReads.count + 1)
    const reading = (async () => {
      const got: StoredEvent[] = []
      for await (const ev of a.runs.events(run.id, 0)) got.push(ev)
      return got
    })()
    // the reader replayed what is stored and read the run's record; two refusals later (a retry interval, far
    // beyond the grace) the disk has room again
    await looked
    await refusals.reach(refusals.count + 2)
    await sql.pool.query('DROP TRIGGER refuse_end ON events')
    const got = await reading
    expect(got.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'output', 'run.completed'])
    expect(got.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(await a.runs.wait(run.id)).toMatchObject({ status: 'succeeded', exitCode: 0 })
  })

  it("a run's end recorded right after its claim (adopt) by a node taken for dead meanwhile: the taker's end stays, once", async () => {
    const store = await pg.openStore()
    await store.registerNode(nodeRecord('node_a'))
    await store.registerNode(nodeRecord('node_b'))
    const workspace = tempDir('run-fencing-')
    dirs.push(workspace)
    const a = nodeOf(store, 'node_a', workspace)
    const b = nodeOf(store, 'node_b', workspace)
    // an API node admitted a run of an agent node A cannot run; A claims it from the queue, then stalls
    await store.admitRun(newRun('run_1', { agent: 'no-such-agent' }), null, 10)
    const claimed = (await store.claimRun('run_1', 'node_a'))!
    expect(await b.runs.recover(['node_a'], 'worker_lost')).toBe(1)
    // A wakes and records that it cannot run it: refused, the taker's record and its one run.completed stay
    await a.runs.adopt(claimed)
    expect(await store.getRun('run_1')).toMatchObject({ status: 'interrupted', reason: 'worker_lost' })
    const ends = (await store.eventsAfter('run_1', 0, 10)).filter((e) => e.type === 'run.completed')
    expect(ends).toEqual([expect.objectContaining({ status: 'interrupted', reason: 'worker_lost' })])
  })

  it('a recovery by a node taken for dead in turn: the run ends once, by the node that took it from the stale taker', async () => {
    const store = await pg.openStore()
    for (const id of ['node_a', 'node_b', 'node_c']) await store.registerNode(nodeRecord(id))
    const workspace = tempDir('run-fencing-')
    dirs.push(workspace)
    const c = nodeOf(store, 'node_c', workspace)
    await store.admitRun(newRun('run_1'), 'node_a', 10)
    // node B takes node_a's run over, then stalls before it records the end: node C takes it from B and ends it
    const storeB = new Proxy(store, {
      get(target, prop) {
        if (prop !== 'takeOverRuns') return Reflect.get(target, prop)
        return async (lost: string[], to: string) => {
          const taken = await target.takeOverRuns(lost, to)
          expect(await c.runs.recover(['node_b'], 'worker_lost')).toBe(1)
          return taken
        }
      },
    }) as Store
    const b = nodeOf(storeB, 'node_b', workspace)
    // B wakes and goes on with its recovery: its end is refused
    expect(await b.runs.recover(['node_a'], 'worker_lost')).toBe(1)
    const ends = (await store.eventsAfter('run_1', 0, 10)).filter((e) => e.type === 'run.completed')
    expect(ends).toHaveLength(1)
    expect(await store.ownerOf('run_1')).toBe('node_c')
  })

  it('a run admitted by a node taken for dead right after: answered as the taker left it, never started', async () => {
    const store = await pg.openStore()
    await store.registerNode(nodeRecord('node_a'))
    await store.registerNode(nodeRecord('node_b'))
    const workspace = tempDir('run-fencing-')
    dirs.push(workspace)
    const b = nodeOf(store, 'node_b', workspace)
    // node A stalls right after the admission: node B takes the run over and ends it
    const storeA = new Proxy(store, {
      get(target, prop) {
        if (prop !== 'admitRun') return Reflect.get(target, prop)
        return async (...args: Parameters<Store['admitRun']>) => {
          const admitted = await target.admitRun(...args)
          expect(await b.runs.recover(['node_a'], 'worker_lost')).toBe(1)
          return admitted
        }
      },
    }) as Store
    const a = nodeOf(storeA, 'node_a', workspace)
    const run = await a.runs.submit('cli', {
      command: { cli: 'sh', args: ['-c', 'echo ran'], env: {} },
      cwd: workspace,
    })
    expect(run).toMatchObject({ status: 'interrupted', reason: 'worker_lost' })
    // its run.queued stored with the admission (one transaction); its claim, before it would start, refused
    await a.runs.idle()
    expect(a.runs.stats).toEqual({ running: 0, queued: 0 })
    expect((await store.eventsAfter(run.id, 0, 10)).map((e) => e.type)).toEqual([
      'run.queued',
      'run.completed',
    ])
    expect(await store.getRun(run.id)).toMatchObject({ status: 'interrupted', reason: 'worker_lost' })
  })

  it("a cancel of a run whose holder's liveness lock is free judges the holder at once and takes the run over", async () => {
    const store = await pg.openStore()
    // node A crashed on another machine: its row names a lock key nobody holds (PostgreSQL freed it), its
    // heartbeat is fresh, and no periodic check runs here
    await store.registerNode({
      ...nodeRecord('node_a', new Date().toISOString()),
      host: 'elsewhere',
      lockKey: 989_898,
    })
    await store.admitRun(newRun('run_1'), 'node_a', 10)
    const workspace = tempDir('run-fencing-')
    dirs.push(workspace)
    const config = loadConfig({ WORKSPACE_ROOTS: workspace, DATA_DIR: `${workspace}-data` }, workspace)
    const membership = new NodeMembership(store, 'all', {
      heartbeatMs: 60_000,
      deadAfterMs: 600_000,
      lockConfirmMs: 100,
    })
    await membership.join()
    const signals: NodeSignals = { send: async () => {}, onMessage: () => {}, close: async () => {} }
    let runs: RunManager | undefined
    const recoverLost = async () => {
      await membership.recoverLost(async (lost) => void (await runs!.recover(lost, 'worker_lost')))
    }
    const cluster: RunCluster = { role: 'all', membership, signals, recoverLost }
    runs = new RunManager(
      store,
      new EventLog(store),
      AgentRegistry.fromConfig(config, process.env),
      config,
      new ActiveRuns(),
      membership.id,
      cluster,
    )
    try {
      let timer: NodeJS.Timeout | undefined
      const waited = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the cancel waited for a periodic check')), 10_000)
      })
      const ended = await Promise.race([runs.cancel('run_1'), waited]).finally(() => clearTimeout(timer))
      expect(ended).toMatchObject({ status: 'interrupted', reason: 'worker_lost' })
      expect(await store.ownerOf('run_1')).toBe(membership.id)
      expect((await store.listNodes()).map((n) => n.id)).toEqual([membership.id])
    } finally {
      await membership.leave()
    }
  })
})

/** Follows the run's events until an output holding `text`. */
async function firstOutput(runs: RunManager, runId: string, text: string): Promise<StoredEvent> {
  for await (const ev of runs.events(runId, 0)) if (ev.type === 'output' && ev.data.includes(text)) return ev
  throw new Error(`run ${runId} ended without printing ${text}`)
}

/** A count, and a promise that it reached a number. */
function counter() {
  const waiting: { n: number; resolve: () => void }[] = []
  const c = {
    count: 0,
    add: () => {
      c.count++
      for (const w of waiting.filter((w) => w.n <= c.count)) {
        waiting.splice(waiting.indexOf(w), 1)
        w.resolve()
      }
    },
    reach: (n: number) =>
      new Promise<void>((resolve) => {
        if (c.count >= n) resolve()
        else waiting.push({ n, resolve })
      }),
  }
  return c
}
