import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { finishedTurnAt, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { processesInGroup, processesUnder, waitUntilGone } from '../support/processes.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { readSseUntil } from '../support/sse-client.js'

/**
 * A session turn whose agent ignores its interrupt (an ACP agent that ignores `session/cancel` and SIGTERM,
 * with a child process of its own) once stayed `running` until the driver's own deadline failed it, its agent
 * still at work, the agent process and its child left running. Now the gateway ends it KILL_GRACE_MS + 5 s after
 * the interrupt (or the stop's abort): recorded `interrupted`, saying why, the session idle again, its agent
 * session closed (its process group ends), and the session's next turn works (the driver reopens it). A real
 * gateway over real sockets, a real ACP agent process (test/fixtures/acp-stubborn-agent.mjs).
 */
const agentScript = fileURLToPath(new URL('../fixtures/acp-stubborn-agent.mjs', import.meta.url))
const settings = { ACP_AGENTS: `stubborn=${process.execPath} ${agentScript}`, KILL_GRACE_MS: '300' }
/** endAfterAbortMs: KILL_GRACE_MS + 5 s. */
const boundMs = 5300

/** Resolves with the first event the gateway stores that `match` picks (tapped in process, as they are stored). */
function nextEvent<T>(gw: TestGateway, match: (ev: StoredEvent) => T | undefined): Promise<T> {
  return new Promise((resolve) => {
    let found = false
    gw.ctx.tapEvents((ev) => {
      const value = found ? undefined : match(ev)
      if (value === undefined) return
      found = true
      resolve(value)
    })
  })
}

/** The agent's pid, once the hanging turn said it started its child (`working: agent <pid> child <pid>`). */
const agentAtWork = (gw: TestGateway) =>
  nextEvent(gw, (ev) => {
    const said = ev.type === 'item.delta' ? /working: agent (\d+) child (\d+)/.exec(ev.delta) : null
    return said ? Number(said[1]) : undefined
  })

/** Settles with `work`, or with a message once `ms` passed (a hang fails with a message, not at the test's timeout). */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T | string> {
  let bound: NodeJS.Timeout | undefined
  const late = new Promise<string>((resolve) => {
    bound = setTimeout(() => resolve(`${what} did not end within ${ms} ms`), ms)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(bound)
  }
}

async function hangingTurn(gw: TestGateway): Promise<{ session: Session; turn: Turn; agentPid: number }> {
  const created = await postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' })
  const session = (await created.json()) as Session
  expect(created.status, JSON.stringify(session)).toBe(201)
  const working = agentAtWork(gw)
  const started = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'hang' })
  const turn = (await started.json()) as Turn
  expect(started.status, JSON.stringify(turn)).toBe(202)
  return { session, turn, agentPid: await working }
}

/** The gateways a test starts, stopped after it (no process of theirs left). */
function gateways() {
  const held: { gw: TestGateway | undefined } = { gw: undefined }
  afterEach(async () => {
    const dir = held.gw?.dir
    await held.gw?.close(0)
    held.gw = undefined
    if (dir) expect(await waitUntilGone(() => processesUnder(dir))).toEqual([])
  })
  return held
}

/** The client's interrupt of such a turn, on a gateway whose store `database` gives (SQLite: nothing). */
function interruptCase(database: () => Promise<Record<string, string>>) {
  const held = gateways()

  it('ends interrupted within its bound, the stream complete, its processes gone, the next turns work', async () => {
    const gw = await startGateway(null, { ...settings, ...(await database()) })
    held.gw = gw
    const { session, turn, agentPid } = await hangingTurn(gw)
    expect(processesInGroup(agentPid).length).toBe(2) // the agent and its `sleep`
    // the session's events from its start, read until the next turn's end
    let nextTurnId: string | undefined
    const stream = await fetch(`${gw.url}/v1/sessions/${session.id}/events`, {
      headers: { accept: 'text/event-stream' },
    })
    const frames = readSseUntil(stream, (f) => {
      const ev = JSON.parse(f.data) as StoredEvent
      return ev.type === 'turn.completed' && ev.turnId !== undefined && ev.turnId === nextTurnId
    })

    // a turn queued behind it: it runs once the first one ended, in the session reopened
    const behind = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, {
      input: 'queued',
      onBusy: 'queue',
    })
    const queued = (await behind.json()) as Turn
    expect({ status: behind.status, turn: queued.status }).toEqual({ status: 202, turn: 'queued' })

    const interrupted = postJson(`${gw.url}/v1/sessions/${session.id}/interrupt`, {})
    const answer = await within(interrupted, boundMs + 15_000, 'the interrupt')
    expect(answer).toBeInstanceOf(Response)
    const ended = (await (answer as Response).json()) as Turn
    expect(ended).toMatchObject({ id: turn.id, status: 'interrupted' })
    expect(ended.error).toMatch(
      new RegExp(`did not stop the turn within ${boundMs} ms of the interrupt; the gateway ended it`),
    )
    expect(await waitUntilGone(() => processesInGroup(agentPid))).toEqual([])
    expect(await finishedTurnAt(gw.url, session.id, queued.id)).toMatchObject({
      status: 'completed',
      finalResponse: 'done',
    })
    expect(((await (await fetch(`${gw.url}/v1/sessions/${session.id}`)).json()) as Session).status).toBe(
      'idle',
    )

    // a next turn (the driver reopened the session in a new agent process: session/load)
    const next = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'hello' })
    const nextTurn = (await next.json()) as Turn
    nextTurnId = nextTurn.id
    expect(next.status, JSON.stringify(nextTurn)).toBe(202)
    expect(await finishedTurnAt(gw.url, session.id, nextTurn.id)).toMatchObject({
      status: 'completed',
      finalResponse: 'done',
    })

    // in order, each once: the first turn from its start to its one end, nothing of it after; idle; the next turn
    const events = (await within(frames, 15_000, 'the event stream')) as Awaited<typeof frames>
    const seqd = events.map((f) => JSON.parse(f.data) as StoredEvent)
    const seqs = seqd.map((e) => e.seq)
    expect(seqs).toEqual(events.map((f) => Number(f.id)))
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
    const ofTurn = (id: string) => seqd.filter((e) => 'turnId' in e && e.turnId === id)
    const first = ofTurn(turn.id).map((e) => e.type)
    expect(first[0]).toBe('turn.started')
    expect(first.filter((t) => t === 'turn.completed' || t === 'turn.failed')).toEqual(['turn.completed'])
    expect(first.at(-1)).toBe('turn.completed')
    const end = seqd.find((e) => e.type === 'turn.completed' && e.turnId === turn.id)!
    expect(end).toMatchObject({ status: 'interrupted' })
    const start = seqd.find((e) => e.type === 'turn.started' && e.turnId === turn.id)!
    const during = seqd.filter((e) => e.seq > start.seq && e.seq < end.seq)
    expect(during.some((e) => e.type === 'item.delta' && e.delta.startsWith('working'))).toBe(true)
    expect(seqd.find((e) => e.seq > end.seq)).toMatchObject({ type: 'session.status', status: 'idle' })
    const second = ofTurn(queued.id)
    expect(second[0]).toMatchObject({ type: 'turn.started' })
    expect(second[0]!.seq).toBeGreaterThan(end.seq)
    expect(second.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    const third = ofTurn(nextTurn.id)
    expect(third[0]!.seq).toBeGreaterThan(second.at(-1)!.seq)
    expect(third.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
  }, 60_000)
}

describe('a session turn whose agent ignores its interrupt (SQLite)', () => {
  interruptCase(async () => ({}))
})

describe('a session turn whose agent ignores its interrupt (PostgreSQL: the turn-end step fenced by its claim)', () => {
  const pg = sharedPostgres()
  interruptCase(async () => ({ DATABASE_URL: await pg.createStoreDatabase() }))
})

describe("a session turn whose agent ignores the server's stop", () => {
  const held = gateways()

  it('a stop while it runs records its end and ends its processes', async () => {
    let gw: TestGateway | undefined = await startGateway(null, settings)
    held.gw = gw
    const { session, turn, agentPid } = await hangingTurn(gw)
    const { env, dir } = gw
    const ends: StoredEvent[] = []
    gw.ctx.tapEvents((ev) => {
      if ((ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turn.id) ends.push(ev)
    })
    const stopped = await within(
      gw.close(0).then(() => 'stopped'),
      boundMs + 25_000,
      'the stop',
    )
    held.gw = undefined
    expect(stopped).toBe('stopped')
    expect(ends).toEqual([expect.objectContaining({ type: 'turn.completed', status: 'interrupted' })])
    expect(await waitUntilGone(() => processesInGroup(agentPid))).toEqual([])

    // recorded: a gateway on the same data finds the turn ended, saying why, and the session idle
    gw = await startGateway(null, { ...settings, DATA_DIR: env.DATA_DIR, WORKSPACE_DIR: env.WORKSPACE_DIR })
    held.gw = gw
    const read = (await (await fetch(`${gw.url}/v1/sessions/${session.id}`)).json()) as Session & {
      turns: Turn[]
    }
    expect(read.status).toBe('idle')
    expect(read.turns.find((t) => t.id === turn.id)).toMatchObject({
      status: 'interrupted',
      error: expect.stringMatching(new RegExp(`within ${boundMs} ms of the server stop`)),
    })
    expect(processesUnder(dir)).toEqual([])
  }, 60_000)
})
