import { describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { AgentStreamClient } from '../support/agent-stream-client.js'
import { finishedTurnAt, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { h2connect } from '../support/h2-client.js'
import { processesInGroup, processesUnder, waitUntilGone } from '../support/processes.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { readSseUntil } from '../support/sse-client.js'
import {
  agentAtWork,
  boundMs,
  gateways,
  hangingTurn,
  helloTurn,
  interruptedByForce,
  notStopped,
  stubbornSettings,
  within,
} from '../support/stubborn-agent.js'

/**
 * A session turn whose agent ignores its interrupt (an ACP agent that ignores `session/cancel` and SIGTERM,
 * with a child process of its own) once stayed `running` until the driver's own deadline failed it, its agent
 * still at work, the agent process and its child left running. Now the gateway ends it KILL_GRACE_MS +
 * FORCE_END_AFTER_MS after the interrupt (or the stop's abort): recorded `interrupted`, saying why, the session idle
 * again, its agent session closed (its process group ends), and the session's next turn works (the driver reopens
 * it). A real gateway over real sockets, a real ACP agent process (test/fixtures/acp-stubborn-agent.mjs).
 */
const settings = stubbornSettings()

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

    expect(await interruptedByForce(gw, session.id)).toMatchObject({ id: turn.id, status: 'interrupted' })
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
    // the client following the session sees why, as the stored turn says
    const end = seqd.find((e) => e.type === 'turn.completed' && e.turnId === turn.id)!
    expect(end).toMatchObject({
      status: 'interrupted',
      error: expect.stringMatching(notStopped('the interrupt')),
    })
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

    // archived later, in the agent the session was reopened in: its process is let go with it
    const archived = await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})
    expect(((await archived.json()) as Session).status).toBe('archived')
    expect(await waitUntilGone(() => processesUnder(gw.dir))).toEqual([])
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
    expect(ends).toEqual([
      expect.objectContaining({
        type: 'turn.completed',
        status: 'interrupted',
        error: expect.stringMatching(notStopped('the server stop')),
      }),
    ])
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
      error: expect.stringMatching(notStopped('the server stop')),
    })
    expect(processesUnder(dir)).toEqual([])

    // reopened later: its next turn runs in the agent reopened (session/load in a new agent process)
    expect(await helloTurn(gw, session.id)).toMatchObject({ status: 'completed', finalResponse: 'done' })
  }, 60_000)
})

describe('a turn whose agent ignores the cancel of an /agent/stream client (seed 004)', () => {
  const held = gateways()

  it("says why in the status frame's details once the gateway ended it", async () => {
    const gw = await startGateway(null, settings)
    held.gw = gw
    const h2 = h2connect(gw.url)
    try {
      const c = new AgentStreamClient(h2, 'ndjson')
      const sessionId = `stubborn-stream-${process.pid}`
      const working = agentAtWork(gw)
      await c.send({
        type: 'user_message',
        sessionId,
        content: 'hang',
        configOverrides: { agent: 'acp:stubborn' },
      })
      const agentPid = await working
      await c.send({ type: 'cancel', sessionId })
      await c.status_('Agent run cancelled by client.')
      const aborted = await within(
        c.status_('Agent run successfully aborted.'),
        boundMs + 15_000,
        'the cancel',
      )
      // the status frame's own `details` (seed 004 allows it): the original's message, and why
      expect(aborted).toMatchObject({
        type: 'status',
        details: { error: expect.stringMatching(notStopped('the interrupt')) },
      })
      expect(Object.keys(aborted as object).sort()).toEqual(['details', 'id', 'message', 'type'])
      expect(c.frames.filter((f) => f.type === 'error')).toEqual([])
      expect(await waitUntilGone(() => processesInGroup(agentPid))).toEqual([])
      c.end()
      await c.ended
    } finally {
      h2.close()
    }
  }, 60_000)
})
