import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/client/index.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { readSseUntil } from '../support/sse-client.js'

/**
 * A turn records the approval policy it ran with (the one it named, else its session's; null: the agent's
 * default), in the store: GET /v1/sessions/:id shows that a turn ran `never` in an `untrusted` session, as the
 * typed client reads it; its `turn.started` event says it too (a stream reader sees it without reading the
 * session). The real codex against the mock model, over a real socket, on each store.
 */
function recordCase(database: () => Promise<Record<string, string>>) {
  const shared = {} as { mock: MockLlm; gw: TestGateway }
  beforeAll(async () => {
    shared.mock = await startMockLlm()
    shared.gw = await startGateway(shared.mock, await database())
  }, 60_000)
  afterAll(async () => {
    await shared.gw?.close()
    await shared.mock?.close()
  })
  afterEach(() => shared.mock?.reset())

  const created = async (body: Record<string, unknown>) => {
    const res = await postJson(`${shared.gw.url}/v1/sessions`, { sandbox: 'workspace-write', ...body })
    const session = (await res.json()) as Session
    expect(res.status, JSON.stringify(session)).toBe(201)
    return session
  }
  const turnOf = async (sessionId: string, body: Record<string, unknown>) => {
    const res = await postJson(`${shared.gw.url}/v1/sessions/${sessionId}/turns?wait=true`, body)
    const turn = (await res.json()) as Turn
    expect(res.status, JSON.stringify(turn)).toBe(200)
    return turn
  }
  /** The session's turns as the store has them, through the typed client. */
  const storedTurns = async (id: string) => {
    const { data, error } = await createClient({ baseUrl: shared.gw.url }).api.GET('/v1/sessions/{id}', {
      params: { path: { id } },
    })
    expect(error).toBeUndefined()
    return data!.turns.map((t) => ({ status: t.status, approvalPolicy: t.approvalPolicy }))
  }
  /** The session's `turn.started` events, replayed from its start up to the end of the turn `lastTurnId`. */
  const turnStarts = async (id: string, lastTurnId: string) => {
    const res = await fetch(`${shared.gw.url}/v1/sessions/${id}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': '0' },
    })
    const frames = await readSseUntil(res, (f) => {
      const ev = JSON.parse(f.data) as StoredEvent
      return (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === lastTurnId
    })
    return frames
      .map((f) => JSON.parse(f.data) as StoredEvent)
      .flatMap((ev) =>
        ev.type === 'turn.started' ? [{ turnId: ev.turnId, approvalPolicy: ev.approvalPolicy }] : [],
      )
  }

  it("an untrusted session: a never turn records never, the next turn the session's untrusted", async () => {
    const session = await created({ approvalPolicy: 'untrusted' })
    shared.mock.script({ kind: 'text', text: 'one' }, { kind: 'text', text: 'two' })
    const first = await turnOf(session.id, { input: 'first', approvalPolicy: 'never' })
    expect(first).toMatchObject({ status: 'completed', approvalPolicy: 'never' })
    const second = await turnOf(session.id, { input: 'second' })
    expect(second).toMatchObject({ status: 'completed', approvalPolicy: 'untrusted' })
    expect(await storedTurns(session.id)).toEqual([
      { status: 'completed', approvalPolicy: 'never' },
      { status: 'completed', approvalPolicy: 'untrusted' },
    ])
    expect(await turnStarts(session.id, second.id)).toEqual([
      { turnId: first.id, approvalPolicy: 'never' },
      { turnId: second.id, approvalPolicy: 'untrusted' },
    ])
  })

  it("a session without a policy: its turns record null (the agent's default) unless they name one", async () => {
    const session = await created({})
    shared.mock.script(
      { kind: 'text', text: 'one' },
      { kind: 'text', text: 'two' },
      { kind: 'text', text: 'three' },
    )
    await turnOf(session.id, { input: 'first' })
    // answered at once (202), stored before its agent got it or right after: the record is the queued row's
    const res = await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, {
      input: 'second',
      approvalPolicy: 'on-failure',
    })
    expect(res.status).toBe(202)
    expect(((await res.json()) as Turn).approvalPolicy).toBe('on-failure')
    const third = await turnOf(session.id, { input: 'third waits for the second' })
    expect(third).toMatchObject({ approvalPolicy: null })
    expect((await storedTurns(session.id)).map((t) => t.approvalPolicy)).toEqual([null, 'on-failure', null])
    // null is said, not left out: the agent's default
    expect((await turnStarts(session.id, third.id)).map((t) => t.approvalPolicy)).toEqual([
      null,
      'on-failure',
      null,
    ])
  })
}

gatewayModules()

describe('a turn records its approval policy (SQLite)', () => {
  recordCase(async () => ({}))
})

describe('a turn records its approval policy (PostgreSQL)', () => {
  const pg = sharedPostgres()
  recordCase(async () => ({ DATABASE_URL: await pg.createStoreDatabase() }))
})
