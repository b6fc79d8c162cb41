import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmdirSync, statfsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeStartupError } from '../../src/cli/startup-error.js'
import type { AgentEvent, StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { held } from '../mock-llm/asked.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  finishedTurnAt,
  gatewayModules,
  postJson,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'
import { signalPostgres } from '../support/postgres-signals.js'
import { pgProgram, runAs, serverUser } from '../support/postgres-tools.js'
import {
  listProcesses,
  processesInGroup,
  processesUnder,
  spawnedFrom,
  waitUntilGone,
} from '../support/processes.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { readSseUntil } from '../support/sse-client.js'
import {
  boundMs,
  hangingTurn,
  helloTurn,
  nextEvent,
  notStopped,
  readSession,
  stubbornSettings,
  within,
} from '../support/stubborn-agent.js'

const root = process.getuid?.() === 0

// a server of its own: its disk-full case fills and unmounts a tablespace, which the run's shared server would
// keep failing to write (its checkpoints, which every CREATE DATABASE of the other files waits for), and its
// pg_wal case fills its pg_wal (on a tmpfs of its own: only what is written takes memory), so it PANICs and stops
const server = sharedPostgres({ ownServer: true, ...(root ? { walTmpfsBytes: 512 * 2 ** 20 } : {}) })

/** `sql` on the database of `url` (or, `admin`, on the server's `postgres` database), over a connection of its own. */
/** The gateway's GET /health: its status and body. */
async function healthOf(gw: TestGateway) {
  const res = await fetch(`${gw.url}/health`)
  return {
    status: res.status,
    body: (await res.json()) as { status: string; store: { ready: boolean; storageFull: boolean } },
  }
}

/** A read and a write that need the store answer 503 store_unavailable with Retry-After 5. */
async function expectStoreUnavailable(gw: TestGateway): Promise<void> {
  for (const res of [
    await fetch(`${gw.url}/v1/sessions`),
    await postJson(`${gw.url}/v1/runs`, { agent: 'cli', command: { cli: 'sh', args: ['-c', 'true'] } }),
  ]) {
    expect(res.headers.get('retry-after')).toBe('5')
    expect({ status: res.status, body: await res.json() }).toMatchObject({
      status: 503,
      body: { error: { code: 'store_unavailable', message: expect.stringContaining('PostgreSQL') } },
    })
  }
}

async function query(url: string, sql: string, admin = false): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: admin ? url.replace(/\/[^/]+$/, '/postgres') : url })
  await client.connect()
  try {
    return await client.query(sql)
  } finally {
    await client.end()
  }
}

gatewayModules()

/**
 * GET /health says whether the node can store anything: while its PostgreSQL database refuses connections it
 * answers 503 `unhealthy` with `store.ready: false` (before: 200 `healthy` whatever the store did, so a container's
 * health check and a load balancer kept sending work to a node that failed every run), and 200 again once the
 * database takes connections.
 */
describe('GET /health with the store down', () => {
  let gw: TestGateway
  let url: string
  const admin = (sql: string) => query(url, sql, true)
  beforeAll(async () => {
    url = await server.createStoreDatabase()
    // a short bound on reads (the hung server's case)
    gw = await startGateway(null, { DATABASE_URL: url, CLI_LIST: 'sh', STORE_QUERY_TIMEOUT_SECONDS: '2' })
  })
  afterAll(async () => {
    await gw?.close()
  })

  /** Sends `sig` to this file's server alone: its postmaster and its children (backends and the rest). */
  const signalServer = (sig: NodeJS.Signals) => signalPostgres(server.ownServer().dir, sig)

  it("a server that hangs (SIGSTOP): a run's read is 503 store_unavailable within STORE_QUERY_TIMEOUT_SECONDS, 200 once it wakes; nothing is lost", async () => {
    // before: GET /v1/runs/:id got no answer until the server woke (no client-side bound; statement_timeout is the
    // server's own), while /health said 503 after its 2 s
    const release = path.join(gw.workspace, 'hang-release')
    expect(spawnSync('mkfifo', [release]).status).toBe(0)
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', 'echo before; read x < hang-release; echo after'] },
    })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as Run
    for await (const ev of gw.ctx.runs.events(id, 0)) if (ev.type === 'output') break
    // a read just before: a pooled connection to take, whose backend stops with the server
    expect((await fetch(`${gw.url}/v1/runs/${id}`)).status).toBe(200)
    const pool = (gw.ctx.store as PostgresStore).pool
    const failed: { err: Error; client: pg.PoolClient }[] = []
    const onRelease = (err: Error | undefined, client: pg.PoolClient) => {
      if (err) failed.push({ err, client })
    }
    pool.on('release', onRelease)
    signalServer('SIGSTOP')
    try {
      // the run's next output and its end come while the server hangs: their transaction waits (or is held)
      await writeFile(release, 'go\n')
      // at once (they wait out the same bound): a read of the run, a new run's write (its BEGIN not answered
      // either: nothing of it sent, nor stored after), /health
      const timed = async (request: Promise<Response>) => {
        const t0 = Date.now()
        const res = await request.catch((err: Error) => err)
        return { res, ms: Date.now() - t0 }
      }
      const [read, posted, health] = await Promise.all([
        timed(fetch(`${gw.url}/v1/runs/${id}`, { signal: AbortSignal.timeout(10_000) })),
        timed(
          fetch(`${gw.url}/v1/runs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ agent: 'cli', command: { cli: 'sh', args: ['-c', 'echo never'] } }),
            signal: AbortSignal.timeout(10_000),
          }),
        ),
        healthOf(gw),
      ])
      for (const { res, ms } of [read, posted]) {
        expect(res).toBeInstanceOf(Response)
        const answer = res as Response
        expect(answer.headers.get('retry-after')).toBe('5')
        expect({ status: answer.status, body: await answer.json() }).toMatchObject({
          status: 503,
          body: { error: { code: 'store_unavailable' } },
        })
        // its bound (2 s), not before: a wait for the server, not another failure (timings on a loaded machine)
        expect(ms).toBeGreaterThanOrEqual(1500)
        expect(ms).toBeLessThan(5000)
      }
      expect(health).toMatchObject({ status: 503, body: { store: { ready: false } } })
      // the connections they timed out on were destroyed, not handed out again with a query pending
      const timedOut = failed.filter((f) => f.err.name === 'StoreNoAnswer')
      expect(timedOut.length).toBeGreaterThanOrEqual(1)
      for (const { client } of timedOut)
        expect(
          (client as unknown as { connection: { stream: { destroyed: boolean } } }).connection.stream
            .destroyed,
        ).toBe(true)
    } finally {
      pool.off('release', onRelease)
      signalServer('SIGCONT')
    }
    expect((await fetch(`${gw.url}/v1/runs/${id}`)).status).toBe(200)
    // the writes that waited (or were held) are stored once the server wakes: each event once, in order
    expect(await gw.ctx.runs.wait(id)).toMatchObject({ status: 'succeeded', exitCode: 0 })
    const events = await gw.ctx.store.eventsAfter(id, 0, 1000)
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    expect(events.flatMap((e) => (e.type === 'output' ? [e.data] : []))).toEqual(['before\n', 'after\n'])
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded' })
    const listed = (await (await fetch(`${gw.url}/v1/runs`)).json()) as { runs: Run[] }
    expect(listed.runs.map((r) => r.id)).toEqual([id])
    expect(await healthOf(gw)).toMatchObject({ status: 200, body: { store: { ready: true } } })
  })

  it("a server that hangs under a run writing megabytes: the run's events in flight are bounded in bytes (STORE_OUTAGE_HELD_MAX_BYTES), not only in count; all stored once it wakes", async () => {
    // before: only 1000 events in flight a run bounded what a hang (or an outage) held in the log, so a run's 8 MiB
    // (32 chunks of 256 KiB, 128 events of 64 KiB) was all queued while the server hung; now the run takes no more
    // of its driver's events once 1 MiB is in flight, until the server wakes
    const chunks = 32
    const chunk = 256 * 1024
    const bound = 1024 * 1024
    const release = path.join(gw.workspace, 'bytes-release')
    const progress = path.join(gw.workspace, 'bytes-progress')
    expect(spawnSync('mkfifo', [release]).status).toBe(0)
    const script =
      `echo ready; read x < bytes-release; i=0; while [ $i -lt ${chunks} ]; do ` +
      `yes abcdefghijklmno | head -c ${chunk}; i=$((i+1)); echo $i > bytes-progress; done`
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', script] },
    })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as Run
    for await (const ev of gw.ctx.runs.events(id, 0)) if (ev.type === 'output') break
    const log = gw.ctx.log
    const notices = log.outageNotices!
    const heldNotice = notices.held
    const held = new Promise<void>((resolve) => {
      notices.held = (err, graceMs) => {
        heldNotice.call(notices, err, graceMs)
        resolve()
      }
    })
    gw.ctx.config.STORE_OUTAGE_HELD_MAX_BYTES = bound
    signalServer('SIGSTOP')
    try {
      await writeFile(release, 'go\n')
      // the run's first output after the hang began is held once its BEGIN goes unanswered (2 s): by then the run
      // had all that time to read its agent's output
      await held
      // the output the log has queued behind the one held: the bound and the one event the run waits for past it (a
      // pipe read: 64 KiB at most); before, all it had read in those 2 s (its 8 MiB on a quiet machine)
      const lanes = (log as unknown as { lanes: { all: { queue: { event: AgentEvent }[] }[] } }).lanes.all
      const queued = lanes
        .flatMap((lane) => lane.queue)
        .reduce((sum, q) => sum + (q.event.type === 'output' ? q.event.data.length : 0), 0)
      expect(queued).toBeLessThanOrEqual(bound + 65_536)
      expect(log.pipedBytes).toBeLessThanOrEqual(bound + 65_536 + 1024)
    } finally {
      notices.held = heldNotice
      signalServer('SIGCONT')
      gw.ctx.config.STORE_OUTAGE_HELD_MAX_BYTES = 64 * 1024 * 1024
    }
    // once it wakes, everything is stored: each byte once, in order
    expect(await gw.ctx.runs.wait(id)).toMatchObject({ status: 'succeeded', exitCode: 0 })
    const events = await gw.ctx.store.eventsAfter(id, 0, 10_000)
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    const output = events.flatMap((e) => (e.type === 'output' ? [e.data] : [])).join('')
    expect(output.length).toBe('ready\n'.length + chunks * chunk)
    expect(output === `ready\n${'abcdefghijklmno\n'.repeat((chunks * chunk) / 16)}`).toBe(true)
    expect(readFileSync(progress, 'utf8').trim()).toBe(String(chunks))
    expect(log.pipedBytes).toBe(0)
  })

  it('is 503 unhealthy while the database refuses connections, 200 healthy before and after', async () => {
    const health = () => healthOf(gw)
    expect(await health()).toMatchObject({ status: 200, body: { status: 'healthy', store: { ready: true } } })
    const db = new URL(url).pathname.slice(1)
    await admin(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`)
    await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}'`)
    try {
      expect(await health()).toMatchObject({
        status: 503,
        body: { status: 'unhealthy', store: { ready: false } },
      })
      // a request that needs the store: 503 store_unavailable with Retry-After (before: 500 internal error, as a bug)
      await expectStoreUnavailable(gw)
    } finally {
      await admin(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`)
    }
    expect(await health()).toMatchObject({ status: 200, body: { status: 'healthy', store: { ready: true } } })
  })
})

/**
 * A run and a session turn of the real codex (against the mock model server) in flight when PostgreSQL goes away.
 * Back within STORE_OUTAGE_GRACE_SECONDS, they ride over it: their events held in order, then stored once each.
 * Past it (a grace of 2 s here), each ends failed with the store's failure as its stored reason, its agent stopped at once (not when its command
 * ends a minute later), its end stored once PostgreSQL is back; its followers got only what is stored, and resumed
 * with Last-Event-ID they get the rest, the end last; nothing stays running, and work goes on.
 */
describe('a run and a turn in flight while PostgreSQL goes away', () => {
  let gw: TestGateway
  let mock: MockLlm
  let url: string
  beforeAll(async () => {
    url = await server.createStoreDatabase()
    mock = await startMockLlm()
    // a short grace: the first and last cases' outages outlast it (the ride-over case lengthens it)
    gw = await startGateway(mock, { DATABASE_URL: url, STORE_OUTAGE_GRACE_SECONDS: '2' })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  /** Stops the file's server as an operator does (`pg_ctl stop -m fast`): every connection ends, new ones are refused. */
  const stopServer = () => {
    const { dir } = server.ownServer()
    runAs(pgProgram('pg_ctl'), ['-D', path.join(dir, 'data'), '-m', 'fast', 'stop'], serverUser(), dir)
  }
  /** Its database closed to connections, those open ended (as health's first case): `back()` opens it again. */
  const refuseConnections = async () => {
    const db = new URL(url).pathname.slice(1)
    await query(url, `ALTER DATABASE ${db} ALLOW_CONNECTIONS false`, true)
    await query(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}'`, true)
    return { back: () => query(url, `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`, true) }
  }

  /**
   * An SSE follower of `owner`'s events (`runs` or `sessions`) until `isEnd`: what it got before its stream ended
   * (a read of the store it needed failed while PostgreSQL was away: its stream ends, without an end), then, once
   * `resume` resolves, again from its Last-Event-ID.
   */
  async function follow(
    kind: 'runs' | 'sessions',
    owner: string,
    isEnd: (ev: StoredEvent) => boolean,
    resume: Promise<void>,
    from = 0,
  ) {
    const got: StoredEvent[] = []
    const read = async (after: number) => {
      const res = await fetch(`${gw.url}/v1/${kind}/${owner}/events`, {
        headers: { accept: 'text/event-stream', 'last-event-id': String(after) },
      })
      expect(res.status).toBe(200)
      for (const f of await readSseUntil(res, (f) => isEnd(JSON.parse(f.data) as StoredEvent)))
        got.push(JSON.parse(f.data) as StoredEvent)
    }
    await read(from)
    if (!got.some(isEnd)) {
      await resume
      await read(got.at(-1)?.seq ?? from)
    }
    return got
  }

  const storing = /^storing its events failed: connect ECONNREFUSED/

  /** The value of the gateway's metric `name` (no labels), from GET /metrics over its socket. */
  const metric = async (name: string) => {
    const res = await fetch(`${gw.url}/metrics`)
    const text = await res.text()
    expect(res.status, text).toBe(200)
    const line = new RegExp(`^${name} (\\d+)$`, 'm').exec(text)
    expect(line, `${name} in /metrics`).not.toBeNull()
    return Number(line![1])
  }

  /** The first case's codex session, which the next takes on (an agent's start less), or a new one. */
  let codexSession: Session | undefined
  const newCodexSession = async () => {
    const created = await postJson(`${gw.url}/v1/sessions`, { agent: 'codex' })
    const session = (await created.json()) as Session
    expect(created.status, JSON.stringify(session)).toBe(201)
    return session
  }

  /**
   * Resolves once the gateway told of a refused end of the run or turn `id` (it is tried again), to be tried again
   * in `retryInMs` if given.
   */
  const endRefused = (gateway: TestGateway, id: string, retryInMs?: number) =>
    new Promise<void>((resolve) => {
      const notices = gateway.ctx.storeNotices
      const told = notices.endFailed.bind(notices)
      notices.endFailed = (what, ids, err, retryIn) => {
        told(what, ids, err, retryIn)
        if ((ids.runId === id || ids.turnId === id) && (retryInMs === undefined || retryIn === retryInMs))
          resolve()
      }
    })

  it('its agent stopped at once, each ends failed saying why once PostgreSQL is back; nothing unstored was sent', async () => {
    // each answer held until PostgreSQL is down; then a command that would run for a minute
    const runStep = held({ kind: 'exec_command', cmd: 'sleep 61' })
    const turnStep = held({ kind: 'exec_command', cmd: 'sleep 62' })
    mock.on('run while it goes', runStep.step)
    mock.on('turn while it goes', turnStep.step)
    let serverBack!: () => void
    const back = new Promise<void>((resolve) => {
      serverBack = resolve
    })
    const res = await postJson(`${gw.url}/v1/runs`, { agent: 'codex', prompt: 'run while it goes' })
    const run = (await res.json()) as Run
    expect(res.status, JSON.stringify(run)).toBe(202)
    const runFollowed = follow('runs', run.id, (ev) => ev.type === 'run.completed', back)
    const session = await newCodexSession()
    codexSession = session
    const isTurnEnd = (ev: StoredEvent) => ev.type === 'turn.completed' || ev.type === 'turn.failed'
    const sessionFollowed = follow('sessions', session.id, isTurnEnd, back)
    // the turn's start (with its agent's turn id) stored before PostgreSQL goes
    const turnStarted = nextEvent(
      gw,
      (ev) => (ev.type === 'turn.started' && ev.sessionId === session.id) || undefined,
    )
    const started = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, {
      input: 'turn while it goes',
    })
    const turn = (await started.json()) as Turn
    expect(started.status, JSON.stringify(turn)).toBe(202)
    await Promise.all([runStep.asked, turnStep.asked, turnStarted])
    const endsFailed = Promise.all([endRefused(gw, run.id), endRefused(gw, turn.id)]).then(() => {})
    // each end's attempts, until the next waits its longest (10 s)
    const endsWaitLong = Promise.all([endRefused(gw, run.id, 10_000), endRefused(gw, turn.id, 10_000)])
    stopServer()
    const commands = () => listProcesses().filter((p) => /(^|\s)sleep 6[12]$/.test(p.cmd))
    runStep.release()
    turnStep.release()
    // each agent's command event refused: both agents stopped (before, the turn's ran on until its command ended)
    expect(await within(endsFailed, 30_000, 'the refusals of the ends')).toBeUndefined()
    expect(await waitUntilGone(commands, 10_000)).toEqual([])
    // not before the agents asked for their commands: the refused event was their start
    expect(mock.requests.filter((r) => !r.side).length).toBeGreaterThanOrEqual(2)

    await endsWaitLong
    const restarted = Date.now()
    await server.ownServer().start()
    // the first query the server answers (here /health's) has both ends tried again at once (before, they waited
    // out their 10 s)
    expect(await healthOf(gw)).toMatchObject({ status: 200, body: { store: { ready: true } } })
    serverBack()
    const ended = await gw.ctx.runs.wait(run.id)
    await finishedTurnAt(gw.url, session.id, turn.id)
    expect(Date.now() - restarted).toBeLessThan(8000)
    const runEvents = await runFollowed
    const sessionEvents = await sessionFollowed
    expect(ended).toMatchObject({ status: 'failed', error: expect.stringMatching(storing) })
    // what the followers got is what is stored, seq by seq, each once, the end last
    expect(runEvents).toEqual(await gw.ctx.store.eventsAfter(run.id, 0, 1000))
    expect(runEvents.map((e) => e.seq)).toEqual(runEvents.map((_, i) => i + 1))
    expect(runEvents.at(-1)).toMatchObject({ type: 'run.completed', status: 'failed', error: ended.error })
    const stored = await gw.ctx.store.eventsAfter(session.id, 0, 1000)
    expect(sessionEvents).toEqual(stored.slice(0, sessionEvents.length))
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1))
    expect(sessionEvents.at(-1)).toMatchObject({
      type: 'turn.failed',
      turnId: turn.id,
      error: expect.stringMatching(storing),
    })
    expect(await readSession(gw.url, session.id)).toMatchObject({
      status: 'idle',
      turns: [{ id: turn.id, status: 'failed', error: expect.stringMatching(storing) }],
    })
    // work goes on: the session takes its next turn, a new run succeeds
    mock.script({ kind: 'text', text: 'after the outage' })
    const next = await postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'again' })
    expect(await next.json()).toMatchObject({ status: 'completed', finalResponse: 'after the outage' })
    const after = await postJson(`${gw.url}/v1/runs?wait=true`, { agent: 'codex', prompt: 'and a run' })
    expect(await after.json()).toMatchObject({ status: 'succeeded' })
    // the outage counted as given up (once), not as ridden over
    expect(await metric('agent_gateway_store_outages_given_up_total')).toBe(1)
    expect(await metric('agent_gateway_store_outages_ridden_total')).toBe(0)
  })

  it('PostgreSQL stopped and started again within the grace: the run and the turn ride over it, each event stored once, in order', async () => {
    // before: both failed at their first event refused (`storing its events failed: connect ECONNREFUSED`)
    gw.ctx.config.STORE_OUTAGE_GRACE_SECONDS = 60
    const runStep = held({ kind: 'exec_command', cmd: 'echo run rode over' })
    const turnStep = held({ kind: 'exec_command', cmd: 'echo turn rode over' })
    mock.on('run rides over', runStep.step)
    mock.on('turn rides over', turnStep.step)
    let serverBack!: () => void
    const back = new Promise<void>((resolve) => {
      serverBack = resolve
    })
    const store = gw.ctx.store
    const { appendEvents, appendEvent } = store
    try {
      const session = codexSession ?? (await newCodexSession())
      codexSession = session
      const from = (await readSession(gw.url, session.id)).lastSeq
      const res = await postJson(`${gw.url}/v1/runs`, { agent: 'codex', prompt: 'run rides over' })
      const run = (await res.json()) as Run
      expect(res.status, JSON.stringify(run)).toBe(202)
      const runFollowed = follow('runs', run.id, (ev) => ev.type === 'run.completed', back)
      const turnStarted = nextEvent(
        gw,
        (ev) => (ev.type === 'turn.started' && ev.sessionId === session.id) || undefined,
      )
      const started = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, {
        input: 'turn rides over',
      })
      const turn = (await started.json()) as Turn
      expect(started.status, JSON.stringify(turn)).toBe(202)
      const isTurnEnd = (ev: StoredEvent) =>
        (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turn.id
      const sessionFollowed = follow('sessions', session.id, isTurnEnd, back, from)
      await Promise.all([runStep.asked, turnStep.asked, turnStarted])
      // resolves once an event of the run and one of the turn were refused while PostgreSQL is down
      const refusedFor = new Set<string>()
      const bothRefused = new Promise<void>((resolve) => {
        const refused = (owners: string[]) => (err: unknown) => {
          if (/ECONNREFUSED/.test((err as Error).message)) for (const owner of owners) refusedFor.add(owner)
          if (refusedFor.has(run.id) && refusedFor.has(session.id)) resolve()
          throw err
        }
        store.appendEvents = function (this: typeof store, batch) {
          return appendEvents.call(this, batch).catch(refused(batch.map((e) => e.ownerId)))
        }
        store.appendEvent = function (this: typeof store, ownerId, ...rest) {
          return appendEvent.call(this, ownerId, ...rest).catch(refused([ownerId]))
        }
      })
      stopServer()
      runStep.release()
      turnStep.release()
      expect(await within(bothRefused, 30_000, 'the refusals of their events')).toBeUndefined()
      await server.ownServer().start()
      serverBack()
      expect(await gw.ctx.runs.wait(run.id)).toMatchObject({ status: 'succeeded' })
      expect(await finishedTurnAt(gw.url, session.id, turn.id)).toMatchObject({
        status: 'completed',
        finalResponse: 'OK',
      })
      // every event stored once, in order, seqs contiguous; the followers got what is stored
      const once = (events: StoredEvent[], command: string) => {
        const completed = events.flatMap((e) => (e.type === 'item.completed' ? [e.item] : []))
        expect(new Set(completed.map((i) => i.id)).size).toBe(completed.length)
        expect(
          completed.filter((i) => i.type === 'command_execution' && i.aggregatedOutput.includes(command)),
        ).toHaveLength(1)
      }
      const runEvents = await runFollowed
      expect(runEvents).toEqual(await gw.ctx.store.eventsAfter(run.id, 0, 1000))
      expect(runEvents.map((e) => e.seq)).toEqual(runEvents.map((_, i) => i + 1))
      expect(runEvents.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded' })
      once(runEvents, 'run rode over')
      const sessionEvents = await sessionFollowed
      const stored = await gw.ctx.store.eventsAfter(session.id, from, 1000)
      expect(sessionEvents).toEqual(stored.slice(0, sessionEvents.length))
      expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => from + i + 1))
      expect(sessionEvents.at(-1)).toMatchObject({ type: 'turn.completed', turnId: turn.id })
      once(sessionEvents, 'turn rode over')
    } finally {
      store.appendEvents = appendEvents
      store.appendEvent = appendEvent
      gw.ctx.config.STORE_OUTAGE_GRACE_SECONDS = 2
    }
  })

  it("PostgreSQL stopped as a run's agent session id and a turn's row are written: both ride over it, tried again at the first query it answers", async () => {
    // before: each write failed at once, within the grace: the run `storing its events failed: connect
    // ECONNREFUSED`, the turn's start refused (its agent's turn stopped); and what was held waited out its timer
    gw.ctx.config.STORE_OUTAGE_GRACE_SECONDS = 60
    const log = gw.ctx.log
    const retryMs = log.outageRetryMs
    // each retry a minute after its refusal: only the wake of a query answered (here /health's) is in time
    log.outageRetryMs = [120_000]
    const notices = log.outageNotices!
    const { held: toldHeld } = notices
    /** Resolves at the next outage's first refusal of a held write. */
    const refused = () =>
      new Promise<void>((resolve) => {
        notices.held = (err: unknown, graceMs: number) => {
          toldHeld(err, graceMs)
          resolve()
        }
      })
    const store = gw.ctx.store
    const inOneTransaction = store.inOneTransaction!
    const ridden = () => metric('agent_gateway_store_outages_ridden_total')
    const riddenBefore = await ridden()
    try {
      const session = codexSession ?? (await newCodexSession())
      codexSession = session
      // the run: PostgreSQL stopped as its start is stored, before its agent session id (codex's thread) is written
      let runId: string | undefined
      let stopAtStart = true
      gw.ctx.tapEvents((ev) => {
        if (stopAtStart && ev.type === 'run.started' && ev.runId === runId) {
          stopAtStart = false
          stopServer()
        }
      })
      const runRefused = refused()
      mock.script({ kind: 'text', text: 'session id rode over' })
      const res = await postJson(`${gw.url}/v1/runs`, { agent: 'codex', prompt: 'session id rides over' })
      const run = (await res.json()) as Run
      runId = run.id
      expect(res.status, JSON.stringify(run)).toBe(202)
      const runFailed = endRefused(gw, run.id).then(() => 'the run failed (its end refused) without a hold')
      expect(
        await within(Promise.race([runRefused, runFailed]), 30_000, 'the refusal of its write'),
      ).toBeUndefined()
      // a turn started now is refused (its start reads the session's state), nothing of it sent to the agent
      const asked = mock.requests.length
      const refusedStart = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, {
        input: 'while down',
      })
      expect(refusedStart.headers.get('retry-after')).toBe('5')
      expect({ status: refusedStart.status, body: await refusedStart.json() }).toMatchObject({
        status: 503,
        body: { error: { code: 'store_unavailable', message: expect.stringContaining('PostgreSQL') } },
      })
      expect(mock.requests.slice(asked).filter((r) => JSON.stringify(r).includes('while down'))).toEqual([])
      // held now, and the gauge says so over a real scrape
      expect(log.held).toBeGreaterThan(0)
      expect(await metric('agent_gateway_store_outage_held_events')).toBe(log.held)
      await server.ownServer().start()
      expect(await healthOf(gw)).toMatchObject({ status: 200 })
      expect(await within(gw.ctx.runs.wait(run.id), 10_000, 'the run')).toMatchObject({
        status: 'succeeded',
        agentSessionId: expect.any(String),
      })
      const runEvents = await gw.ctx.store.eventsAfter(run.id, 0, 1000)
      expect(runEvents.map((e) => e.seq)).toEqual(runEvents.map((_, i) => i + 1))
      expect(runEvents.filter((e) => e.type === 'agent.session')).toHaveLength(1)
      expect(runEvents.filter((e) => e.type === 'run.started')).toHaveLength(1)
      expect(runEvents.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded' })

      // the turn: its start (POST .../turns) read the session, then PostgreSQL stopped as its row is written (its
      // agent works meanwhile): the start is answered once the row is stored
      const from = (await readSession(gw.url, session.id)).lastSeq
      let stopAtRow = true
      store.inOneTransaction = function <T>(this: typeof store, fn: (tx: typeof store) => Promise<T>) {
        if (stopAtRow) {
          stopAtRow = false
          stopServer()
        }
        return inOneTransaction.call(this, fn) as Promise<T>
      }
      const turnRefused = refused()
      mock.script({ kind: 'text', text: 'row rode over' })
      const started = postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'row rides over' })
      const answeredFirst = started.then((r) => `its start answered ${r.status} without a hold`)
      expect(
        await within(Promise.race([turnRefused, answeredFirst]), 30_000, 'the refusal of its row'),
      ).toBeUndefined()
      expect(stopAtRow).toBe(false)
      expect(await metric('agent_gateway_store_outage_held_events')).toBeGreaterThan(0)
      await server.ownServer().start()
      expect(await healthOf(gw)).toMatchObject({ status: 200 })
      const answer = await within(started, 10_000, "the turn's start")
      expect(typeof answer).not.toBe('string')
      const turn = (await (answer as Response).json()) as Turn
      expect((answer as Response).status, JSON.stringify(turn)).toBe(202)
      expect(await finishedTurnAt(gw.url, session.id, turn.id)).toMatchObject({
        status: 'completed',
        finalResponse: 'row rode over',
      })
      const stored = await gw.ctx.store.eventsAfter(session.id, from, 1000)
      expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => from + i + 1))
      const ofTurn = (type: string) =>
        stored.filter((e) => e.type === type && 'turnId' in e && e.turnId === turn.id)
      expect(ofTurn('turn.started')).toHaveLength(1)
      expect(ofTurn('turn.completed')).toHaveLength(1)
      expect(
        stored.filter((e) => e.type === 'item.completed' && e.item.type === 'agent_message'),
      ).toHaveLength(1)
      // both outages ridden over, nothing held any more
      expect((await ridden()) - riddenBefore).toBe(2)
      expect(await metric('agent_gateway_store_outage_held_events')).toBe(0)
    } finally {
      store.inOneTransaction = inOneTransaction
      notices.held = toldHeld
      log.outageRetryMs = retryMs
      gw.ctx.config.STORE_OUTAGE_GRACE_SECONDS = 2
    }
  })

  it("connections refused as a run's start and a turn's start are written: failed as the store's failure, not the driver's", async () => {
    // the database closes to connections (those open ended) right as the run's start and the turn's agent turn id
    // are written: those writes fail; before, the run and the turn were recorded `driver error: ...`
    const store = gw.ctx.store
    const { updateRunWithEvents, updateTurnWithEvents } = store
    let refused: Promise<{ back: () => Promise<unknown> }> | undefined
    const refuseOnce = () => {
      refused ??= refuseConnections()
      return refused
    }
    store.updateRunWithEvents = async function (this: typeof store, ...args) {
      if (args[1].status === 'running') await refuseOnce()
      return updateRunWithEvents.apply(this, args)
    }
    store.updateTurnWithEvents = async function (this: typeof store, ...args) {
      if (args[1].agentTurnId) await refuseOnce()
      return updateTurnWithEvents.apply(this, args)
    }
    const stored =
      /^storing its events failed: (terminating connection due to administrator command|database .* is not currently accepting connections)/
    try {
      const session = codexSession ?? (await newCodexSession())
      mock.script({ kind: 'text', text: 'never stored' })
      const started = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'refused start' })
      const turn = (await started.json()) as Turn
      expect(started.status, JSON.stringify(turn)).toBe(202)
      await within(endRefused(gw, turn.id), 30_000, "the refusal of the turn's end")
      await (await refuseOnce()).back()
      expect(await finishedTurnAt(gw.url, session.id, turn.id)).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(stored),
      })
      expect(await readSession(gw.url, session.id)).toMatchObject({ status: 'idle' })

      refused = undefined
      const before = new Set(processesUnder(gw.workspace).map((p) => p.pid))
      const res = await postJson(`${gw.url}/v1/runs`, { agent: 'codex', prompt: 'refused start' })
      const run = (await res.json()) as Run
      expect(res.status, JSON.stringify(run)).toBe(202)
      await within(endRefused(gw, run.id), 30_000, "the refusal of the run's end")
      // its agent stopped while the database is closed
      expect(
        await waitUntilGone(() => processesUnder(gw.workspace).filter((p) => !before.has(p.pid)), 10_000),
      ).toEqual([])
      await (await refuseOnce()).back()
      expect(await gw.ctx.runs.wait(run.id)).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(stored),
      })
      const events = await gw.ctx.store.eventsAfter(run.id, 0, 100)
      expect(events.map((e) => e.type)).toEqual(['run.queued', 'run.completed'])
    } finally {
      store.updateRunWithEvents = updateRunWithEvents
      store.updateTurnWithEvents = updateTurnWithEvents
    }
  })
})

/**
 * PostgreSQL's pg_wal full, for real (its pg_wal on a tmpfs of its own, shrunk to what it holds; mounting needs
 * root, as CI runs): the server cannot make its next WAL segment, PANICs (`could not write to file
 * "pg_wal/xlogtemp...": No space left on device`), and its crash recovery, which needs a segment too, fails, so it
 * shuts down and stays down (PostgreSQL 15 does not restart it) until an operator frees space and starts it. Meanwhile
 * /health answers 503 `store.ready: false` and requests 503 store_unavailable with Retry-After (before: 500 internal
 * error, as for a bug); started again, the gateway takes work without a restart of its own.
 */
describe.skipIf(!root)("PostgreSQL's pg_wal full (a tmpfs pg_wal; needs root)", () => {
  let gw: TestGateway
  let url: string
  beforeAll(async () => {
    url = await server.createStoreDatabase()
    gw = await startGateway(null, { DATABASE_URL: url, CLI_LIST: 'sh' })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('PostgreSQL PANICs and stays down: /health and requests 503; started again, work goes on', async () => {
    const { dir, start } = server.ownServer()
    const wal = path.join(dir, 'wal')
    const health = () => healthOf(gw)
    expect(await health()).toMatchObject({ status: 200, body: { store: { ready: true } } })
    const postmaster = Number(readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
    // no room for another segment
    const { blocks, bfree, bsize } = statfsSync(wal)
    execFileSync('mount', ['-o', `remount,size=${(blocks - bfree) * bsize}`, wal])
    // WAL written, a segment at a time, until PostgreSQL needs a new segment file (those it recycled used up)
    const client = new pg.Client({ connectionString: url })
    client.on('error', () => {})
    await client.connect()
    let lost: unknown
    for (let i = 0; i < 64 && lost === undefined; i++)
      lost = await client.query("SELECT pg_logical_emit_message(false, 'agw', 'x'), pg_switch_wal()").then(
        () => undefined,
        (err: unknown) => err,
      )
    await client.end().catch(() => {})
    expect(lost).toBeInstanceOf(Error)
    // its crash recovery fails for want of a segment too: the postmaster exits
    expect(await waitUntilGone(() => listProcesses().filter((p) => p.pid === postmaster), 30_000)).toEqual([])
    const log = readFileSync(path.join(dir, 'server.log'), 'utf8')
    expect(log).toMatch(/PANIC: {2}could not write to file "pg_wal\/xlogtemp\.\d+": No space left on device/)
    expect(log).toMatch(/shutting down due to startup process failure/)

    expect(await health()).toMatchObject({
      status: 503,
      body: { status: 'unhealthy', store: { ready: false } },
    })
    await expectStoreUnavailable(gw)

    // space back and the server started again, as an operator does: its recovery replays the WAL
    execFileSync('mount', ['-o', `remount,size=${512 * 2 ** 20}`, wal])
    await start()
    expect(await health()).toMatchObject({ status: 200, body: { status: 'healthy', store: { ready: true } } })
    const next = await postJson(`${gw.url}/v1/runs?wait=true`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', 'echo fine'] },
    })
    expect(await next.json()).toMatchObject({ status: 'succeeded', exitCode: 0 })
  })
})

/**
 * The PostgreSQL server's disk full, for real: the store's `events` and `sessions` tables and their indexes in a
 * tablespace on a tmpfs of 1 MB of its own (mounting one needs root, as CI runs), filled to the last byte, so the
 * server refuses each event, and a session's row that needs a page, with SQLSTATE
 * 53100 `disk_full` (`could not extend file ...: No space left on device`), as data-dir-full.test.ts fills
 * SQLite's. A request whose write it refuses answers 503 `storage_full` with Retry-After (before: 500 `internal
 * error`, as for a bug); a run whose output no longer fits fails saying why, its agent stopped, and its end is tried
 * again until space is back (without a restart): then its stream gets it, no seq missing, and nothing stays running.
 */
describe.skipIf(!root)("the PostgreSQL server's disk full (a tmpfs tablespace; needs root)", () => {
  let gw: TestGateway
  let url: string
  let mount: string
  let mock: MockLlm
  /** The gateway's last 400 log lines (warn and above). */
  const logLines: string[] = []
  beforeAll(async () => {
    url = await server.createStoreDatabase()
    mount = mkdtempSync(path.join(os.tmpdir(), 'agw-pg-full-'))
    const { uid, gid } = serverUser()!
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=1m,uid=${uid},gid=${gid},mode=0700`, 'tmpfs', mount])
    await query(url, `CREATE TABLESPACE small LOCATION '${mount}'`)
    // what a session's creation and a fork write (the session's row, its first event) and their indexes: before,
    // only `events` was there, and a create refused at its first event passed whatever the gateway did with a
    // refused write of its row
    await query(
      url,
      `DO $$ DECLARE r record; BEGIN
          FOR r IN SELECT indexname FROM pg_indexes WHERE tablename IN ('sessions', 'events') LOOP
            EXECUTE format('ALTER INDEX %I SET TABLESPACE small', r.indexname);
          END LOOP;
        END $$`,
    )
    await query(url, 'ALTER TABLE events SET TABLESPACE small')
    // each session's row a page of its own (an insert takes a page only while 90 % of it stays free), as on a
    // disk whose pages are all full: a new session's row needs room of the disk (it fitted the first page)
    await query(url, 'ALTER TABLE sessions SET TABLESPACE small, SET (fillfactor = 10)')
    // empty: its first row needs a page the full disk refuses (a single statement's write, enqueueWebhook)
    await query(url, 'ALTER TABLE webhook_outbox SET TABLESPACE small')
    mock = await startMockLlm()
    gw = await startGateway(
      mock,
      {
        DATABASE_URL: url,
        CLI_LIST: 'sh',
        WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
        WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...stubbornSettings(),
      },
      { logSink: { write: (line) => logLines.splice(0, logLines.push(line) - 400) } },
    )
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
    if (!mount) return
    // lazily: the server keeps the tablespace's files open until it stops (after this file)
    spawnSync('umount', ['-l', mount])
    rmdirSync(mount)
  })

  const listSessions = async () =>
    ((await (await fetch(`${gw.url}/v1/sessions`)).json()) as { sessions: Session[] }).sessions
  const health = () => healthOf(gw)

  /**
   * Fills the tablespace (again): rows of events (of no run) while one fits, smaller ones into what is left. VACUUM
   * first: the free space map then names every page's room (a page a gateway's connection was filling, which the
   * map did not know of, would take that connection's next event on a full disk); its first, before the disk is
   * full, makes the map.
   */
  const fill = async () => {
    await query(url, 'VACUUM events')
    await query(
      url,
      `DO $$ DECLARE size int; n int := (SELECT coalesce(max(seq), 0) FROM events WHERE owner_id = 'filler'); BEGIN
        FOREACH size IN ARRAY ARRAY[1500, 300, 60, 1] LOOP
          LOOP
            BEGIN
              n := n + 1;
              INSERT INTO events VALUES ('filler', n, 'filler', '',
                (SELECT string_agg(md5(random()::text), '') FROM generate_series(0, size / 32)));
            EXCEPTION WHEN disk_full THEN EXIT;
            END;
          END LOOP;
        END LOOP;
      END $$`,
    )
  }

  /** The tmpfs's size, as mounted and grown. */
  let tmpfsBytes = 1024 * 1024
  /** The relation a refusal names (`could not extend file "<its file>"`), as the database names it. */
  const relationOf = async (message: string) => {
    const file = /could not extend file "([^"]+)"/.exec(message)?.[1]
    const { rows } = await query(
      url,
      `SELECT relname FROM pg_class WHERE pg_relation_filepath(oid) = '${file ?? ''}'`,
    )
    return (rows[0] as { relname: string } | undefined)?.relname ?? `? ${message}`
  }

  /**
   * `attempt` on the full tablespace (fill) twice, then with room: first while the session's row needs a page of
   * the disk (sessions' fillfactor 10: a page takes a row only while 90 % of it stays free), then while it finds
   * room on its table's pages (fillfactor 100) and only its first event needs the disk (events' fillfactor 10:
   * a page the fill left a few hundred bytes free could take it otherwise); as data-dir-full.test.ts
   * gives SQLite's disk back page by page, so an attempt gets part of its writes in. Each refusal is 503
   * storage_full and `leftNothing` checks it left nothing; then space is back (64 KB more) and `attempt` is
   * stored. The session stored, and the relation (table or index) each refusal was at, from the error of the
   * store's createSession (`could not extend file`): ['sessions', 'events'].
   */
  async function writeByWrite(
    attempt: () => Promise<Response>,
    leftNothing: () => Promise<void>,
  ): Promise<{ session: Session; refusedAt: string[] }> {
    await fill()
    const store = gw.ctx.store
    const createSession = store.createSession
    const errors: string[] = []
    store.createSession = (...args) =>
      createSession.apply(store, args).catch((err: unknown) => {
        errors.push((err as Error).message)
        throw err
      })
    const refusedAt: string[] = []
    try {
      for (const fillfactor of [10, 100]) {
        await query(url, `ALTER TABLE sessions SET (fillfactor = ${fillfactor})`)
        await query(url, `ALTER TABLE events SET (fillfactor = ${110 - fillfactor})`)
        const res = await attempt()
        expect({ fillfactor, status: res.status, body: await res.json() }).toMatchObject({
          status: 503,
          body: { error: { code: 'storage_full' } },
        })
        expect(res.headers.get('retry-after')).toBe('30')
        refusedAt.push(await relationOf(errors.at(-1) ?? ''))
        await leftNothing()
      }
      tmpfsBytes += 64 * 1024
      execFileSync('mount', ['-o', `remount,size=${tmpfsBytes}`, mount])
      const res = await attempt()
      const session = (await res.json()) as Session
      expect(res.status, JSON.stringify(session)).toBe(201)
      return { session, refusedAt }
    } finally {
      store.createSession = createSession
      await query(url, 'ALTER TABLE sessions SET (fillfactor = 10)')
      await query(url, 'ALTER TABLE events SET (fillfactor = 100)')
    }
  }

  it("a request whose write it refuses is 503 storage_full; a run's and a turn's end refused meanwhile are stored once space is back", async () => {
    // a run: one line, then it waits for the test, then ~270 KB that no longer fit, then would run on for a minute
    const release = path.join(gw.workspace, 'release')
    expect(spawnSync('mkfifo', [release]).status).toBe(0)
    const script = 'echo before; read x < release; head -c 200000 /dev/urandom | base64; exec sleep 60'
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', script] },
    })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as Run
    for await (const ev of gw.ctx.runs.events(id, 0)) if (ev.type === 'output') break
    const { pid } = (await (await fetch(`${gw.url}/v1/runs/${id}`)).json()) as Run
    // a session turn: its agent says `waiting`, then waits for the test, then answers `done`
    const turnRelease = path.join(gw.workspace, 'turn-release')
    expect(spawnSync('mkfifo', [turnRelease]).status).toBe(0)
    const created = await postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' })
    const session = (await created.json()) as Session
    expect(created.status, JSON.stringify(session)).toBe(201)
    const waiting = nextEvent(gw, (ev) => (ev.type === 'item.delta' && ev.delta === 'waiting') || undefined)
    const started = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, {
      input: `wait ${turnRelease}`,
    })
    const turn = (await started.json()) as Turn
    expect(started.status, JSON.stringify(turn)).toBe(202)
    await waiting
    // a codex session with a turn (ACP agents cannot fork): a thread to fork once the disk is full
    const parentRes = await postJson(`${gw.url}/v1/sessions`, { agent: 'codex' })
    const parent = (await parentRes.json()) as Session
    expect(parentRes.status, JSON.stringify(parent)).toBe(201)
    mock.script({ kind: 'text', text: 'parent answer' })
    const parentTurn = await postJson(`${gw.url}/v1/sessions/${parent.id}/turns?wait=true`, { input: 'hi' })
    expect(await parentTurn.json()).toMatchObject({ status: 'completed' })
    const parentBefore = await readSession(gw.url, parent.id)
    const parentEvents = await gw.ctx.store.eventsAfter(parent.id, 0, 1000)
    // a turn whose agent ignores its interrupt: interrupted once the disk is full, the gateway ends it by force
    const hanging = await hangingTurn(gw)

    await fill()
    // nothing refused yet: /health writes nothing to find out (it knows of a full disk from a refused write)
    expect(await health()).toMatchObject({ status: 200, body: { store: { storageFull: false } } })
    // the server refuses what an event of the gateway's takes, with SQLSTATE 53100; at the start that is one line
    const refused = await query(
      url,
      `INSERT INTO events VALUES ('probe', 1, 'probe', '', repeat('x', 300))`,
    ).catch((err: unknown) => err)
    expect(refused).toMatchObject({
      code: '53100',
      message: expect.stringMatching(/No space left on device/),
    })
    expect(describeStartupError(refused).message).toMatch(
      /^the disk of the PostgreSQL server \(DATABASE_URL\) is full \(could not extend file .*\): free space/,
    )

    // a single statement refused (a webhook delivery's insert): /health says so from then on (before: only a
    // refused transaction marked the disk full, and /health stayed 200 healthy)
    const delivery = {
      id: 'whd_single',
      url: 'http://127.0.0.1:9/hook',
      event: 'turn.completed' as const,
      body: '{}',
      state: 'pending' as const,
      attempts: 0,
      nextAttemptAt: '2999-01-01T00:00:00.000Z',
      lastError: null,
      createdAt: new Date().toISOString(),
      deliveredAt: null,
    }
    await expect(gw.ctx.store.enqueueWebhook(delivery)).rejects.toMatchObject({ code: '53100' })
    expect(await health()).toMatchObject({
      status: 503,
      body: { status: 'unhealthy', store: { ready: true, storageFull: true } },
    })

    // a new run: admitted, its run.queued refused
    const full = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', 'true'] },
    })
    expect(full.headers.get('retry-after')).toBe('30')
    expect({ status: full.status, body: await full.json() }).toMatchObject({
      status: 503,
      body: { error: { code: 'storage_full', message: expect.stringContaining('PostgreSQL server') } },
    })
    // from that refusal on, /health says so (503, as for a store down: nothing accepted now can be stored), its
    // SELECT 1 still answered; before, it stayed 200 healthy while every write was refused
    const unhealthy = {
      status: 503,
      body: { status: 'unhealthy', store: { ready: true, storageFull: true } },
    }
    expect(await health()).toMatchObject(unhealthy)
    // and again on the next check: its probe write is refused too
    expect(await health()).toMatchObject(unhealthy)

    // a new session, write by write: refused at its row, then at its first event once its row fits (before, only
    // the event was ever refused), nothing of it stored (before: its row was, listed idle) and its agent, opened
    // first, closed (before: left open until the idle unload); then stored once both fit
    const listed = [session.id, parent.id, hanging.session.id]
    const running = () => new Set(processesUnder(gw.workspace).map((p) => p.pid))
    let was = running()
    const opened = () => processesUnder(gw.workspace).filter((p) => !was.has(p.pid))
    const newSession = await writeByWrite(
      () => postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' }),
      async () => {
        expect((await listSessions()).map((s) => s.id).sort()).toEqual([...listed].sort())
        expect(await waitUntilGone(opened, 5000)).toEqual([])
      },
    )
    expect(newSession.refusedAt).toEqual(['sessions', 'events'])
    listed.push(newSession.session.id)
    // one with a webhook and limits: the same, its webhook and limits part of that one write
    was = running()
    const webhook = { url: 'http://127.0.0.1:9/hook', events: ['turn.completed'] }
    const withExtras = await writeByWrite(
      () => postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn', webhook, limits: { maxTurns: 3 } }),
      async () => {
        expect((await listSessions()).map((s) => s.id).sort()).toEqual([...listed].sort())
        expect(await waitUntilGone(opened, 5000)).toEqual([])
      },
    )
    expect(withExtras.refusedAt).toEqual(['sessions', 'events'])
    expect(await readSession(gw.url, withExtras.session.id)).toMatchObject({
      webhook,
      limits: { maxTurns: 3 },
    })
    listed.push(withExtras.session.id)
    // a fork: refused alike, nothing of it stored, its parent as it was, no process left for it
    const processes = () =>
      spawnedFrom()
        .map((p) => p.pid)
        .sort()
    const before = processes()
    const forked = await writeByWrite(
      () => postJson(`${gw.url}/v1/sessions/${parent.id}/fork`, {}),
      async () => {
        expect((await listSessions()).map((s) => s.id).sort()).toEqual([...listed].sort())
        expect(await readSession(gw.url, parent.id)).toEqual(parentBefore)
        expect(await gw.ctx.store.eventsAfter(parent.id, 0, 1000)).toEqual(parentEvents)
        expect(processes()).toEqual(before)
      },
    )
    expect(forked.refusedAt).toEqual(['sessions', 'events'])
    expect(forked.session).toMatchObject({ forkedFrom: parent.id, forkedAtSeq: parentBefore.lastSeq })
    expect(await readSession(gw.url, parent.id)).toEqual(parentBefore)
    listed.push(forked.session.id)
    // full again for what follows
    await fill()

    // the run's output and the turn's answer, then their ends, refused: each end is tried again
    const pending = new Map([
      [id, 'the run'],
      [turn.id, 'the turn'],
      [hanging.turn.id, 'the interrupted turn'],
    ])
    const endsFailed = new Promise<void>((resolve) => {
      const notices = gw.ctx.storeNotices
      const told = notices.endFailed.bind(notices)
      notices.endFailed = (what, ids, ...rest) => {
        told(what, ids, ...rest)
        pending.delete(ids.runId ?? '')
        pending.delete(ids.turnId ?? '')
        if (pending.size === 0) resolve()
      }
    })
    const runStream = readSseUntil(
      await fetch(`${gw.url}/v1/runs/${id}/events`, { headers: { accept: 'text/event-stream' } }),
      (f) => (JSON.parse(f.data) as StoredEvent).type === 'run.completed',
    )
    const sessionStream = readSseUntil(
      await fetch(`${gw.url}/v1/sessions/${session.id}/events`, {
        headers: { accept: 'text/event-stream' },
      }),
      (f) => {
        const ev = JSON.parse(f.data) as StoredEvent
        return ev.type === 'session.status' && ev.status === 'idle' && ev.seq > 1
      },
    )
    const hangingStream = readSseUntil(
      await fetch(`${gw.url}/v1/sessions/${hanging.session.id}/events`, {
        headers: { accept: 'text/event-stream' },
      }),
      (f) => {
        const ev = JSON.parse(f.data) as StoredEvent
        return ev.type === 'session.status' && ev.status === 'idle' && ev.seq > 1
      },
    )
    const interrupted = postJson(`${gw.url}/v1/sessions/${hanging.session.id}/interrupt`, {})
    await writeFile(release, 'go\n')
    await writeFile(turnRelease, 'go\n')
    const endsRefused = await within(endsFailed, boundMs + 15_000, 'the refusals of the ends')
    // a failure names which end was not refused, with the gateway's log lines of it (a CI log keeps only these)
    const linesOf = (ids: string[]) => logLines.filter((line) => ids.some((i) => line.includes(i))).slice(-12)
    expect(
      endsRefused &&
        `${endsRefused}; not refused: ${[...pending.values()].join(', ')}\n${linesOf([...pending.keys()]).join('')}`,
    ).toBeUndefined()
    // the turn ended by force: its end refused and tried again (before: tried once, the turn `running` for good)
    expect((await readSession(gw.url, hanging.session.id)).turns).toMatchObject([
      { id: hanging.turn.id, status: 'running' },
    ])
    // the run's agent (the `sleep` it went on with) was stopped; the run and the turn wait for their ends
    expect(await waitUntilGone(() => processesInGroup(pid!), 5000)).toEqual([])
    expect(await (await fetch(`${gw.url}/v1/runs/${id}`)).json()).toMatchObject({ status: 'running' })
    expect(await readSession(gw.url, session.id)).toMatchObject({
      status: 'running',
      turns: [{ id: turn.id, status: 'running' }],
    })

    // space back, as an operator gives it (a bigger volume): the next check's probe write is stored
    execFileSync('mount', ['-o', 'remount,size=16m', mount])
    expect(await health()).toMatchObject({
      status: 200,
      body: { status: 'healthy', store: { ready: true, storageFull: false } },
    })
    const storing = /^storing its events failed: could not extend file .*No space left on device/
    const runEvents = (await runStream).map((f) => JSON.parse(f.data) as StoredEvent)
    expect(runEvents.map((e) => e.seq)).toEqual(runEvents.map((_, i) => i + 1))
    expect(runEvents.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'output', 'run.completed'])
    expect(runEvents.at(-1)).toMatchObject({ status: 'failed', error: expect.stringMatching(storing) })
    const sessionEvents = (await sessionStream).map((f) => JSON.parse(f.data) as StoredEvent)
    expect(sessionEvents.map((e) => e.seq)).toEqual(sessionEvents.map((_, i) => i + 1))
    expect(sessionEvents.at(-2)).toMatchObject({
      type: 'turn.failed',
      turnId: turn.id,
      error: expect.stringMatching(storing),
    })
    expect(await readSession(gw.url, session.id)).toMatchObject({
      status: 'idle',
      turns: [{ id: turn.id, status: 'failed' }],
    })
    expect(await (await interrupted).json()).toMatchObject({
      id: hanging.turn.id,
      status: 'interrupted',
      error: expect.stringMatching(notStopped('the interrupt')),
    })
    const hangingEvents = (await hangingStream).map((f) => JSON.parse(f.data) as StoredEvent)
    expect(hangingEvents.map((e) => e.seq)).toEqual(hangingEvents.map((_, i) => i + 1))
    expect(hangingEvents.filter((e) => e.type === 'turn.completed' || e.type === 'turn.failed')).toEqual([
      expect.objectContaining({ type: 'turn.completed', turnId: hanging.turn.id, status: 'interrupted' }),
    ])
    expect(await readSession(gw.url, hanging.session.id)).toMatchObject({
      status: 'idle',
      turns: [{ id: hanging.turn.id, status: 'interrupted' }],
    })
    // the run the full disk refused is recorded failed too: nothing stays running or queued
    const runs = (await (await fetch(`${gw.url}/v1/runs`)).json()) as { runs: Run[] }
    expect(runs.runs).toHaveLength(2)
    for (const run of runs.runs) expect(await gw.ctx.runs.wait(run.id)).toMatchObject({ status: 'failed' })
    // and work goes on
    const next = await postJson(`${gw.url}/v1/runs?wait=true`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', 'echo fine'] },
    })
    expect(await next.json()).toMatchObject({ status: 'succeeded', exitCode: 0 })
    expect(await helloTurn(gw, session.id)).toMatchObject({ status: 'completed', finalResponse: 'done' })
    expect(await health()).toMatchObject({ status: 200, body: { store: { storageFull: false } } })
    const another = await postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' })
    const created2 = (await another.json()) as Session
    expect(another.status, JSON.stringify(created2)).toBe(201)
    expect((await listSessions()).map((s) => s.id).sort()).toEqual([...listed, created2.id].sort())
  })

  it("room in `events` only: /health stays 503 while a new session's row is refused, 200 once it fits", async () => {
    // before: its probe wrote into `events` alone, so with room there (pages of its own) and none for a session's
    // row it said 200 healthy while every session's creation was refused
    await fill()
    // room in events' pages again, the disk still full: the last filler rows (the index's room for new keys) and
    // a few of the largest (the table's room for a row) deleted, and known to the free space map
    await query(
      url,
      `DELETE FROM events WHERE owner_id = 'filler' AND (seq > (SELECT max(seq) - 50 FROM events WHERE owner_id = 'filler')
         OR seq IN (SELECT seq FROM events WHERE owner_id = 'filler' ORDER BY length(body) DESC, seq LIMIT 4))`,
    )
    await query(url, 'VACUUM events')
    const refused = await postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' })
    expect({ status: refused.status, body: await refused.json() }).toMatchObject({
      status: 503,
      body: { error: { code: 'storage_full' } },
    })
    const unhealthy = {
      status: 503,
      body: { status: 'unhealthy', store: { ready: true, storageFull: true } },
    }
    expect(await health()).toMatchObject(unhealthy)
    expect(await health()).toMatchObject(unhealthy)
    // space back, as the case above gave it (it left the tmpfs at 16 MB, filled here)
    execFileSync('mount', ['-o', 'remount,size=32m', mount])
    expect(await health()).toMatchObject({
      status: 200,
      body: { status: 'healthy', store: { storageFull: false } },
    })
    const created = await postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' })
    expect(created.status, JSON.stringify(await created.json())).toBe(201)
  })
})
