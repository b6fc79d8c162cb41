import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { blockingWriter } from '../support/blocking-writer.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { heldNow } from '../support/held-gauges.js'
import { signalPostgres } from '../support/postgres-signals.js'
import { processesInGroup, waitUntilGone } from '../support/processes.js'
import { sharedPostgres } from '../support/shared-postgres.js'

// a server of its own: SIGSTOP freezes all of it
const server = sharedPostgres({ ownServer: true })

/** STORE_OUTAGE_HELD_MAX_BYTES of the gateway: its smallest value. */
const bound = 1024 * 1024
/** What the agent writes: 17 MiB of numbered lines of 64 bytes, in blocks of 64 KiB. */
const lineBytes = 64
const blocks = 272
const linesPerBlock = 1024
const line = (n: number) => `${String(n).padStart(8, '0')} ${'x'.repeat(lineBytes - 10)}\n`
const expectedOutput = () => {
  const lines: string[] = []
  for (let n = 1; n <= blocks * linesPerBlock; n++) lines.push(line(n))
  return lines.join('')
}

/** The agent, after `ready` and the release: blockingWriter's lines (its progress file says where it is). */
const writer = blockingWriter({ blocks, linesPerBlock, lineBytes })

gatewayModules()

/**
 * A one-shot run whose agent prints far more than STORE_OUTAGE_HELD_MAX_BYTES while PostgreSQL hangs (SIGSTOP): the
 * gateway holds at most the bound in its event pipe plus what the run's driver queues (256 KiB), and no longer
 * reads the agent's output past that, so the agent blocks on its write. Before, the driver read all the agent
 * wrote into a queue of its own meanwhile: the bound held in the pipe, and the memory moved to the driver (a run
 * printing 17 MiB had all 17 MiB read while the store was frozen). A real `cli` run over real sockets, a real
 * PostgreSQL frozen and woken.
 */
describe("a run's output while the store hangs", () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, {
      DATABASE_URL: await server.createStoreDatabase(),
      CLI_LIST: 'sh',
      STORE_QUERY_TIMEOUT_SECONDS: '2',
      STORE_OUTAGE_HELD_MAX_BYTES: String(bound),
      // the outage lasts as long as the test needs: the run rides over it however loaded the machine
      STORE_OUTAGE_GRACE_SECONDS: '600',
    })
    await writeFile(path.join(gw.workspace, 'writer.pl'), writer)
  })
  afterAll(async () => {
    await gw?.close()
  })

  const signalServer = (sig: NodeJS.Signals) => signalPostgres(server.ownServer().dir, sig)

  /** Starts the writer as a run; resolves once its `ready` is stored, with the run's id and its process's pid. */
  async function startWriter(name: string) {
    const release = path.join(gw.workspace, `${name}-release`)
    const progress = path.join(gw.workspace, `${name}-progress`)
    expect(spawnSync('mkfifo', [release]).status).toBe(0)
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: {
        cli: 'sh',
        args: ['-c', `echo ready; read x < ${name}-release; exec perl writer.pl ${name}-progress`],
      },
    })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as Run
    let pid: number | undefined
    for await (const ev of gw.ctx.runs.events(id, 0)) {
      if (ev.type === 'run.started') pid = ev.pid
      if (ev.type === 'output') break
    }
    expect(pid).toBeGreaterThan(0)
    const state = () => {
      if (!existsSync(progress)) return { what: 'starting', bytes: 0 }
      const [what, bytes] = readFileSync(progress, 'utf8').split(' ')
      return { what: what as string, bytes: Number(bytes) }
    }
    return { id, pid: pid!, release, state }
  }

  /** Counts the reads of run `id` the gateway's run manager asks of its store until `stop`. */
  function runReads(id: string) {
    const { store } = gw.ctx.runs as unknown as { store: { getRun: (id: string) => Promise<unknown> } }
    const getRun = store.getRun
    const reads = {
      count: 0,
      stop: () => {
        store.getRun = getRun
      },
    }
    store.getRun = (asked: string) => {
      if (asked === id) reads.count++
      return getRun.call(store, asked)
    }
    return reads
  }

  /**
   * Polls until the agent is done (all it wrote was read) or it waits on its write while the gateway holds its
   * output (the run's reading paused; the store frozen, nothing drains: it stays so); returns what was seen.
   */
  async function untilHeldOrDone(state: () => { what: string; bytes: number }) {
    let most = 0
    while (true) {
      const held = await heldNow(gw.url)
      const now = state()
      most = Math.max(most, held.inFlight + held.queued)
      if (now.what === 'done' || (held.paused > 0 && now.what === 'blocked'))
        return { ...now, most, paused: held.paused }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  it('holds the bound (the agent blocks on its write) and, once the store wakes, stores every byte once, in order', {
    timeout: 180_000,
  }, async () => {
    const run = await startWriter('big')
    signalServer('SIGSTOP')
    let seen: Awaited<ReturnType<typeof untilHeldOrDone>>
    try {
      await writeFile(run.release, 'go\n')
      seen = await untilHeldOrDone(run.state)
    } finally {
      signalServer('SIGCONT')
    }
    // what the agent got written while the store hung: the pipe's bound, the driver's 256 KiB and a read each, and
    // the buffers of its socket; before, all of its 17 MiB (the driver read it all into its queue)
    expect(seen.what, `the agent wrote all ${seen.bytes} bytes while the store was frozen`).toBe('blocked')
    expect(seen.bytes).toBeLessThanOrEqual(bound + 1.5 * 1024 * 1024)
    expect(seen.paused).toBe(1)
    // what the gateway held of it meanwhile: the bound and one event past it, the driver's 256 KiB and one read
    expect(seen.most).toBeGreaterThan(bound / 2)
    expect(seen.most).toBeLessThanOrEqual(bound + 512 * 1024)
    // the store woke: the agent goes on, and every line is stored once, in order
    expect(await gw.ctx.runs.wait(run.id)).toMatchObject({ status: 'succeeded', exitCode: 0 })
    expect(run.state()).toEqual({ what: 'done', bytes: blocks * linesPerBlock * lineBytes })
    const events = await gw.ctx.store.eventsAfter(run.id, 0, 100_000)
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    const output = events
      .flatMap((e) => (e.type === 'output' && e.stream === 'stdout' ? [e.data] : []))
      .join('')
    expect(output.length).toBe('ready\n'.length + blocks * linesPerBlock * lineBytes)
    expect(output === `ready\n${expectedOutput()}`).toBe(true)
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded' })
    expect(await heldNow(gw.url)).toEqual({ inFlight: 0, queued: 0, paused: 0 })
  })

  it('a run cancelled while its output is held ends its process group at once, the store still frozen; its output up to then is stored once it wakes', {
    timeout: 180_000,
  }, async () => {
    const run = await startWriter('cancelled')
    signalServer('SIGSTOP')
    let gone: ReturnType<typeof processesInGroup>
    try {
      await writeFile(run.release, 'go\n')
      const seen = await untilHeldOrDone(run.state)
      expect(seen.what).toBe('blocked')
      // the outage known (a held commit's BEGIN went unanswered past STORE_QUERY_TIMEOUT_SECONDS): the cancel does
      // not ask the store; before, it read the run (up to RunManager.cancelReadWaitMs) though the store was known out
      while (!gw.ctx.log.holding) await new Promise((resolve) => setTimeout(resolve, 20))
      const reads = runReads(run.id)
      // a run this node runs is cancelled here, without the store: 202, the run as this node ended it
      let cancel: Response
      try {
        cancel = await postJson(`${gw.url}/v1/runs/${run.id}/cancel`, {})
      } finally {
        reads.stop()
      }
      expect(cancel.status).toBe(202)
      expect(await cancel.json()).toMatchObject({ id: run.id, status: 'cancelled' })
      expect(reads.count).toBe(0)
      gone = await waitUntilGone(() => processesInGroup(run.pid))
    } finally {
      signalServer('SIGCONT')
    }
    expect(gone).toEqual([])
    expect(await gw.ctx.runs.wait(run.id)).toMatchObject({ status: 'cancelled' })
    const events = await gw.ctx.store.eventsAfter(run.id, 0, 100_000)
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    const output = events
      .flatMap((e) => (e.type === 'output' && e.stream === 'stdout' ? [e.data] : []))
      .join('')
    // all the agent got written before it was killed, once, in order
    const written = run.state().bytes
    expect(output.length).toBe('ready\n'.length + written)
    expect(output === `ready\n${expectedOutput().slice(0, written)}`).toBe(true)
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'cancelled' })
    expect(await heldNow(gw.url)).toEqual({ inFlight: 0, queued: 0, paused: 0 })
  })
})
