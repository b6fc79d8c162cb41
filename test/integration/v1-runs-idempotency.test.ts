import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keyInFlightMs } from '../../src/core/request-keys.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { held, type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { sharedPostgres } from '../support/shared-postgres.js'

const server = sharedPostgres()

gatewayModules()

interface ErrorBody {
  error: {
    code: string
    message: string
    details?: { reason?: string; runId?: string; sessionId?: string; turnId?: string }
  }
}

const body = (script: string) => ({ agent: 'cli', command: { cli: 'sh', args: ['-c', script] } })

const tokens = 'ops:ops-token:admin,alpha:alpha-token:read+run:team-a,beta:beta-token:read+run:team-b'
const as = (token: string, headers: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  ...headers,
})
/** The untenanted operator's headers, with an Idempotency-Key. */
const keyed = (key: string) => as('ops-token', { 'idempotency-key': key })

/**
 * POST /v1/runs with an Idempotency-Key, over real sockets, on SQLite and on PostgreSQL (there with two nodes on one
 * database: a retry that reaches the other node gets the same run). The same key and body answer the first run
 * again (200, `idempotent-replayed: true`) and make none; another body is a 409 naming the first run; a first
 * request refused (400) does not keep the key; a malformed key is a 400. Before, every retry made another run.
 * Two tenants' same key are two keys. A request still being answered is a 409 with Retry-After; one that failed
 * while the store did not answer (so it kept its key) is taken over by a retry once keyInFlightMs has passed
 * (before: 409 until the key expired, 24 h). A key expires after IDEMPOTENCY_KEY_TTL (before: a 24 h constant) and
 * is deleted then.
 */
describe.each(['sqlite', 'postgres'] as const)('POST /v1/runs with an Idempotency-Key (%s)', (store) => {
  let mock: MockLlm
  let first: TestGateway
  let second: TestGateway
  beforeAll(async () => {
    // the mock model server: sessions open real codex app-servers (no turn runs, so it is never asked)
    mock = await startMockLlm()
    const env: Record<string, string> = { CLI_LIST: 'sh', API_TOKENS: tokens, IDEMPOTENCY_KEY_TTL: '3600' }
    if (store === 'postgres') env.DATABASE_URL = await server.createStoreDatabase()
    first = await startGateway(mock, env)
    second =
      store === 'postgres'
        ? await startGateway(mock, {
            ...env,
            WORKSPACE_DIR: first.workspace,
            CODEX_HOME: first.env.CODEX_HOME!,
          })
        : first
  })
  afterAll(async () => {
    if (second !== first) await second?.close()
    await first?.close()
    await mock?.close()
  })

  const runCount = async () => {
    const res = await fetch(`${first.url}/v1/runs?limit=100`, { headers: as('ops-token') })
    return ((await res.json()) as { runs: Run[] }).runs.length
  }

  it('answers the first run again for the same key and body, on any node; 409 for another body', async () => {
    const before = await runCount()
    const made = await postJson(`${first.url}/v1/runs`, body('echo once'), keyed('k-1'))
    expect(made.status).toBe(202)
    expect(made.headers.get('idempotent-replayed')).toBeNull()
    const run = (await made.json()) as Run

    // the retry, on the other node where there are two: the same run, none made (before: a second run, 202)
    const again = await postJson(`${second.url}/v1/runs`, body('echo once'), keyed('k-1'))
    expect(again.status).toBe(200)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.headers.get('location')).toBe(`/v1/runs/${run.id}`)
    expect(((await again.json()) as Run).id).toBe(run.id)
    // waited for as asked
    const waited = await postJson(`${second.url}/v1/runs?wait=true`, body('echo once'), keyed('k-1'))
    expect(waited.status).toBe(200)
    expect((await waited.json()) as Run).toMatchObject({ id: run.id, status: 'succeeded' })
    expect(await runCount()).toBe(before + 1)

    // the same key with another body: refused, naming the first run
    const other = await postJson(`${first.url}/v1/runs`, body('echo other'), keyed('k-1'))
    expect(other.status).toBe(409)
    const err = (await other.json()) as ErrorBody
    expect(err.error).toMatchObject({
      code: 'conflict',
      details: { reason: 'idempotency_key_reused', runId: run.id },
    })
    expect(err.error.message).toMatch(/Idempotency-Key 'k-1' was used for another request .* use a new key/)
    // another key is another run
    const fresh = await postJson(`${first.url}/v1/runs`, body('echo once'), keyed('k-2'))
    expect(fresh.status).toBe(202)
    expect(((await fresh.json()) as Run).id).not.toBe(run.id)
    expect(await runCount()).toBe(before + 2)
  })

  it('does not keep the key of a refused request; refuses a malformed key', async () => {
    const refused = await postJson(
      `${first.url}/v1/runs`,
      { agent: 'cli', command: { cli: 'not-listed', args: [] } },
      keyed('k-3'),
    )
    expect(refused.status).toBe(400)
    const made = await postJson(`${second.url}/v1/runs`, body('true'), keyed('k-3'))
    expect(made.status).toBe(202)

    const long = await postJson(`${first.url}/v1/runs`, body('true'), keyed('x'.repeat(256)))
    expect(long.status).toBe(400)
    expect(((await long.json()) as ErrorBody).error.message).toMatch(/Idempotency-Key must be 1 to 255/)
  })

  it("keeps each tenant's keys apart: the same key is another tenant's own run, never the other's", async () => {
    const alpha = await postJson(
      `${first.url}/v1/runs`,
      body('echo a'),
      as('alpha-token', { 'idempotency-key': 'k-t' }),
    )
    expect(alpha.status).toBe(202)
    const alphaRun = (await alpha.json()) as Run
    expect(alphaRun.tenant).toBe('team-a')
    // beta's same key and body: a run of beta's own, not alpha's replayed
    const beta = await postJson(
      `${second.url}/v1/runs`,
      body('echo a'),
      as('beta-token', { 'idempotency-key': 'k-t' }),
    )
    expect(beta.status).toBe(202)
    const betaRun = (await beta.json()) as Run
    expect(betaRun).toMatchObject({ tenant: 'team-b' })
    expect(betaRun.id).not.toBe(alphaRun.id)
    // beta's key with another body names beta's run, not alpha's; the untenanted operator's same key is free
    const reused = await postJson(
      `${first.url}/v1/runs`,
      body('echo b'),
      as('beta-token', { 'idempotency-key': 'k-t' }),
    )
    expect(reused.status).toBe(409)
    expect(((await reused.json()) as ErrorBody).error.details).toMatchObject({ runId: betaRun.id })
    expect((await postJson(`${first.url}/v1/runs`, body('echo b'), keyed('k-t'))).status).toBe(202)
    // each tenant's retry answers its own run
    const again = await postJson(
      `${second.url}/v1/runs`,
      body('echo a'),
      as('alpha-token', { 'idempotency-key': 'k-t' }),
    )
    expect(again.status).toBe(200)
    expect(((await again.json()) as Run).id).toBe(alphaRun.id)
    const betaSees = await fetch(`${first.url}/v1/runs/${alphaRun.id}`, { headers: as('beta-token') })
    expect(betaSees.status).toBe(404)
  })

  it('answers 409 with Retry-After while a request holds the key; takes over a key its failed request kept', async () => {
    const store = first.ctx.store
    // the store does not answer while the first request stores its run: it fails, and cannot let go of its key
    const { admitRun, getRun } = store
    const down = () =>
      Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
    store.admitRun = down
    store.getRun = down
    let failed: Response
    try {
      failed = await postJson(`${first.url}/v1/runs`, body('echo kept'), keyed('k-lost'))
    } finally {
      store.admitRun = admitRun
      store.getRun = getRun
    }
    expect(failed.status).toBeGreaterThanOrEqual(500)
    // the store back: as far as anyone can tell the first request is still storing its run
    const busy = await postJson(`${second.url}/v1/runs`, body('echo kept'), keyed('k-lost'))
    expect(busy.status).toBe(409)
    expect(busy.headers.get('retry-after')).toBe('1')
    expect(((await busy.json()) as ErrorBody).error).toMatchObject({
      code: 'conflict',
      details: { reason: 'idempotency_key_in_use' },
    })
    // keyInFlightMs later (the hold made older, as time would): the retry takes the key over and makes the run,
    // under the id the key was held for (before: 409 until the key expired)
    const held = await store.holdRequestKey(
      null,
      'k-lost',
      { resourceId: 'run_unused', digest: '' },
      new Date().toISOString(),
      new Date(0).toISOString(),
    )
    expect(held).toBeDefined()
    const older = new Date(Date.parse(held!.at) - keyInFlightMs).toISOString()
    expect(await store.retakeRequestKey(null, 'k-lost', held!, older)).toBe(true)
    const made = await postJson(`${second.url}/v1/runs?wait=true`, body('echo kept'), keyed('k-lost'))
    expect(made.status).toBe(200)
    expect((await made.json()) as Run).toMatchObject({ id: held!.resourceId, status: 'succeeded' })
    const replayed = await postJson(`${first.url}/v1/runs`, body('echo kept'), keyed('k-lost'))
    expect(replayed.status).toBe(200)
    expect(((await replayed.json()) as Run).id).toBe(held!.resourceId)
  })

  it('lets a key expire after IDEMPOTENCY_KEY_TTL, and deletes expired keys', async () => {
    const store = first.ctx.store
    const made = await postJson(`${first.url}/v1/runs`, body('echo ttl'), keyed('k-ttl'))
    expect(made.status).toBe(202)
    const run = (await made.json()) as Run
    const probe = { resourceId: 'run_unused', digest: '' }
    const now = () => new Date().toISOString()
    const held = await store.holdRequestKey(null, 'k-ttl', probe, now(), new Date(0).toISOString())
    // the key made two hours old: past IDEMPOTENCY_KEY_TTL (an hour here), within the 24 hours it was kept before
    const twoHoursAgo = new Date(Date.parse(held!.at) - 2 * 3600_000).toISOString()
    expect(await store.retakeRequestKey(null, 'k-ttl', held!, twoHoursAgo)).toBe(true)
    // another body with the key: a new run, not the 409 of a key still kept
    const fresh = await postJson(`${second.url}/v1/runs`, body('echo ttl again'), keyed('k-ttl'))
    expect(fresh.status).toBe(202)
    expect(((await fresh.json()) as Run).id).not.toBe(run.id)
    // an expired key of another tenant is deleted by any later request's hold, not kept for ever
    await postJson(
      `${first.url}/v1/runs`,
      body('echo old'),
      as('alpha-token', { 'idempotency-key': 'k-old' }),
    )
    const alphaHeld = await store.holdRequestKey('team-a', 'k-old', probe, now(), new Date(0).toISOString())
    expect(await store.retakeRequestKey('team-a', 'k-old', alphaHeld!, twoHoursAgo)).toBe(true)
    expect((await postJson(`${first.url}/v1/runs`, body('true'), keyed('k-other'))).status).toBe(202)
    // the expired hold is gone: holding it again (with no expiry) finds nothing and holds it
    expect(
      await store.holdRequestKey('team-a', 'k-old', probe, now(), new Date(0).toISOString()),
    ).toBeUndefined()
  })

  describe('POST /v1/sessions with an Idempotency-Key', () => {
    const sessionBody = (sandbox: string, extra: Record<string, unknown> = {}) => ({
      agent: 'codex',
      sandbox,
      ...extra,
    })
    /** The sessions of the three tenants: each is an agent process (codex app-server) the gateway opened. */
    const sessionCount = async () => {
      let count = 0
      for (const token of ['ops-token', 'alpha-token', 'beta-token']) {
        const res = await fetch(`${first.url}/v1/sessions?limit=100`, { headers: as(token) })
        count += ((await res.json()) as { sessions: Session[] }).sessions.length
      }
      return count
    }
    const createSession = (gw: TestGateway, b: unknown, headers: Record<string, string>) =>
      postJson(`${gw.url}/v1/sessions`, b, headers)

    afterAll(async () => {
      // the agents these tests opened (held by the first node: the retries on the second only read)
      for (const gw of new Set([first, second])) {
        await gw?.ctx.sessions.closeAll()
        for (const tenant of [null, 'team-a', 'team-b'])
          await gw?.ctx.tenancy.scope(tenant).sessions.closeAll()
      }
    })

    it('answers the first session again for the same key and body, on any node; 409 for another body or route', async () => {
      const before = await sessionCount()
      // with an externalId: the retry is the same session, not a 409 for an externalId taken
      const b = sessionBody('read-only', { externalId: `ext-${store}` })
      const made = await createSession(first, b, keyed('s-1'))
      expect(made.status).toBe(201)
      expect(made.headers.get('idempotent-replayed')).toBeNull()
      const session = (await made.json()) as Session

      // the retry (on the other node where there are two): the same session, no agent opened (before: a second
      // session and agent process, or a 409 for its externalId)
      const again = await createSession(second, { ...b }, keyed('s-1'))
      expect(again.status).toBe(200)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(again.headers.get('location')).toBe(`/v1/sessions/${session.id}`)
      expect(((await again.json()) as Session).id).toBe(session.id)
      expect(await sessionCount()).toBe(before + 1)

      // another body with the key: refused, naming the session
      const other = await createSession(first, sessionBody('workspace-write'), keyed('s-1'))
      expect(other.status).toBe(409)
      const err = (await other.json()) as ErrorBody
      expect(err.error).toMatchObject({
        code: 'conflict',
        details: { reason: 'idempotency_key_reused', sessionId: session.id },
      })
      expect(err.error.message).toMatch(/Idempotency-Key 's-1' was used for another request \(session ses_/)
      // a key is the tenant's across routes: a run's key is no session's, and the other way round
      const runKeyed = await postJson(`${first.url}/v1/runs`, body('true'), keyed('s-run'))
      expect(runKeyed.status).toBe(202)
      const asSession = await createSession(second, sessionBody('read-only'), keyed('s-run'))
      expect(asSession.status).toBe(409)
      expect(((await asSession.json()) as ErrorBody).error.details).toMatchObject({
        runId: ((await runKeyed.json()) as Run).id,
      })
      const asRun = await postJson(`${first.url}/v1/runs`, body('true'), keyed('s-1'))
      expect(asRun.status).toBe(409)
      expect(await sessionCount()).toBe(before + 1)
    })

    it("keeps each tenant's keys apart; a refused creation does not keep its key", async () => {
      const before = await sessionCount()
      const headersOf = (token: string) => as(token, { 'idempotency-key': 's-t' })
      const alpha = await createSession(first, sessionBody('read-only'), headersOf('alpha-token'))
      expect(alpha.status).toBe(201)
      const alphaSession = (await alpha.json()) as Session
      const beta = await createSession(second, sessionBody('read-only'), headersOf('beta-token'))
      expect(beta.status).toBe(201)
      const betaSession = (await beta.json()) as Session
      expect(betaSession.id).not.toBe(alphaSession.id)
      expect(betaSession.tenant).toBe('team-b')
      const again = await createSession(second, sessionBody('read-only'), headersOf('alpha-token'))
      expect(again.status).toBe(200)
      expect(((await again.json()) as Session).id).toBe(alphaSession.id)
      expect(await sessionCount()).toBe(before + 2)

      // refused (an unknown agent: 400) before anything was stored: the key is free for the next request
      const refused = await createSession(first, { agent: 'no-such-agent' }, keyed('s-refused'))
      expect(refused.status).toBe(400)
      expect((await createSession(second, sessionBody('read-only'), keyed('s-refused'))).status).toBe(201)
      expect(await sessionCount()).toBe(before + 3)
    })

    it('answers 409 with Retry-After while a request holds the key; takes over a key its failed request kept', async () => {
      const store = first.ctx.store
      const before = await sessionCount()
      // the store does not answer as the first request stores its session: it fails (its agent closed) and
      // cannot let go of its key
      const { createSession: create, getSession } = store
      const down = () =>
        Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
      store.createSession = down
      store.getSession = down
      let failed: Response
      try {
        failed = await createSession(first, sessionBody('read-only'), keyed('s-lost'))
      } finally {
        store.createSession = create
        store.getSession = getSession
      }
      expect(failed.status).toBeGreaterThanOrEqual(500)
      const busy = await createSession(second, sessionBody('read-only'), keyed('s-lost'))
      expect(busy.status).toBe(409)
      expect(busy.headers.get('retry-after')).toBe('1')
      expect(((await busy.json()) as ErrorBody).error.details).toMatchObject({
        reason: 'idempotency_key_in_use',
      })
      expect(await sessionCount()).toBe(before)
      // keyInFlightMs later: the retry takes the key over and makes the session under the id the key was held for
      const held = await store.holdRequestKey(
        null,
        's-lost',
        { resourceId: 'ses_unused', digest: '' },
        new Date().toISOString(),
        new Date(0).toISOString(),
      )
      expect(held?.resourceId).toMatch(/^ses_/)
      const older = new Date(Date.parse(held!.at) - keyInFlightMs).toISOString()
      expect(await store.retakeRequestKey(null, 's-lost', held!, older)).toBe(true)
      const made = await createSession(first, sessionBody('read-only'), keyed('s-lost'))
      expect(made.status).toBe(201)
      expect(((await made.json()) as Session).id).toBe(held!.resourceId)
      const replayed = await createSession(second, sessionBody('read-only'), keyed('s-lost'))
      expect(replayed.status).toBe(200)
      expect(((await replayed.json()) as Session).id).toBe(held!.resourceId)
      expect(await sessionCount()).toBe(before + 1)
    })

    /**
     * A turn with an Idempotency-Key: on PostgreSQL sent first to the node that does not hold the session (it goes
     * to the holder with the id the key chose), retried on the holder. Before, every retry started another turn.
     */
    it('answers the first turn again for the same key, body and session, on any node; refuses a steer with a key', async () => {
      const session = (await (
        await createSession(first, sessionBody('read-only'), keyed('s-turns'))
      ).json()) as Session
      const turnsUrl = (gw: TestGateway, query = '') => `${gw.url}/v1/sessions/${session.id}/turns${query}`
      const turnBody = { input: 'hello once' }
      const made = await postJson(turnsUrl(second), turnBody, keyed('t-1'))
      expect(made.status).toBe(202)
      expect(made.headers.get('idempotent-replayed')).toBeNull()
      const turn = (await made.json()) as Turn
      // the retry, on the node holding the session: the same turn as it is now, none started
      const waited = await postJson(turnsUrl(first, '?wait=true'), turnBody, keyed('t-1'))
      expect(waited.status).toBe(200)
      expect(waited.headers.get('idempotent-replayed')).toBe('true')
      expect((await waited.json()) as Turn).toMatchObject({ id: turn.id, status: 'completed' })
      const again = await postJson(turnsUrl(second), { ...turnBody, onBusy: 'queue' }, keyed('t-1'))
      expect(again.status).toBe(200)
      expect((await again.json()) as Turn).toMatchObject({ id: turn.id, status: 'completed' })
      // streamed as asked: from the turn's first event to its end, though it ended before
      const streamed = await postJson(turnsUrl(first), turnBody, {
        ...keyed('t-1'),
        accept: 'application/x-ndjson',
      })
      expect(streamed.headers.get('idempotent-replayed')).toBe('true')
      expect(streamed.headers.get('x-turn-id')).toBe(turn.id)
      const events = (await streamed.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as StoredEvent & { turnId?: string })
      expect(events[0]).toMatchObject({ type: 'turn.started', turnId: turn.id })
      expect(events.at(-1)).toMatchObject({ type: 'turn.completed', turnId: turn.id })
      const stored = await fetch(`${first.url}/v1/sessions/${session.id}`, { headers: as('ops-token') })
      expect(((await stored.json()) as { turns: Turn[] }).turns.map((t) => t.id)).toEqual([turn.id])

      // another body, another session or another route with the key: refused, naming the turn
      const other = await postJson(turnsUrl(first), { input: 'hello twice' }, keyed('t-1'))
      expect(other.status).toBe(409)
      const err = (await other.json()) as ErrorBody
      expect(err.error).toMatchObject({
        code: 'conflict',
        details: { reason: 'idempotency_key_reused', turnId: turn.id },
      })
      expect(err.error.message).toMatch(/Idempotency-Key 't-1' was used for another request \(turn turn_/)
      const otherSession = (await (
        await createSession(first, sessionBody('read-only'), keyed('s-turns-2'))
      ).json()) as Session
      const elsewhere = await postJson(
        `${second.url}/v1/sessions/${otherSession.id}/turns`,
        turnBody,
        keyed('t-1'),
      )
      expect(elsewhere.status).toBe(409)
      expect((await postJson(`${first.url}/v1/runs`, body('true'), keyed('t-1'))).status).toBe(409)

      // a steer may go into the running turn: no new turn for a key to answer with
      const steer = await postJson(turnsUrl(first), { input: 'steer', onBusy: 'steer' }, keyed('t-steer'))
      expect(steer.status).toBe(400)
      expect(((await steer.json()) as ErrorBody).error.message).toMatch(
        /Idempotency-Key is taken with onBusy "queue" \(the default\) or "reject", not "steer"/,
      )
      // a turn refused (no such session) does not keep its key
      const missing = `${first.url}/v1/sessions/ses_missing/turns`
      expect((await postJson(missing, turnBody, keyed('t-404'))).status).toBe(404)
      expect((await postJson(missing, turnBody, keyed('t-404'))).status).toBe(404)
    })

    it('lets go of the key of a turn refused while another runs (`reject`); replays a queued turn as queued', async () => {
      const session = (await (
        await createSession(first, sessionBody('read-only'), keyed('s-busy'))
      ).json()) as Session
      const turnsUrl = (gw: TestGateway) => `${gw.url}/v1/sessions/${session.id}/turns`
      const running = held({ kind: 'text', text: 'held' })
      mock.reset()
      mock.script(running.step)
      try {
        expect((await postJson(turnsUrl(first), { input: 'runs' }, as('ops-token'))).status).toBe(202)
        await running.asked
        const refused = await postJson(turnsUrl(second), { input: 'next', onBusy: 'reject' }, keyed('t-busy'))
        expect(refused.status).toBe(409)
        expect(((await refused.json()) as ErrorBody).error.details?.reason).toBeUndefined()
        // nothing was stored for the key, which was let go of: another body with it is a turn (kept: a 409, reused)
        const queued = await postJson(turnsUrl(second), { input: 'next' }, keyed('t-busy'))
        expect(queued.status).toBe(202)
        const turn = (await queued.json()) as Turn
        expect(turn.status).toBe('queued')
        const again = await postJson(turnsUrl(first), { input: 'next' }, keyed('t-busy'))
        expect(again.status).toBe(200)
        expect((await again.json()) as Turn).toMatchObject({ id: turn.id, status: 'queued' })
      } finally {
        running.release()
      }
      const waited = await postJson(`${turnsUrl(second)}?wait=true`, { input: 'next' }, keyed('t-busy'))
      expect((await waited.json()) as Turn).toMatchObject({ status: 'completed' })
      const stored = await fetch(`${first.url}/v1/sessions/${session.id}`, { headers: as('ops-token') })
      expect(((await stored.json()) as { turns: Turn[] }).turns).toHaveLength(2)
    })

    it('lets a key expire after IDEMPOTENCY_KEY_TTL', async () => {
      const store = first.ctx.store
      const made = await createSession(first, sessionBody('read-only'), keyed('s-ttl'))
      expect(made.status).toBe(201)
      const session = (await made.json()) as Session
      // within the TTL, the first session again
      const kept = await createSession(second, sessionBody('read-only'), keyed('s-ttl'))
      expect(kept.status).toBe(200)
      expect(((await kept.json()) as Session).id).toBe(session.id)
      const probe = { resourceId: 'ses_unused', digest: '' }
      const held = await store.holdRequestKey(
        null,
        's-ttl',
        probe,
        new Date().toISOString(),
        new Date(0).toISOString(),
      )
      const twoHoursAgo = new Date(Date.parse(held!.at) - 2 * 3600_000).toISOString()
      expect(await store.retakeRequestKey(null, 's-ttl', held!, twoHoursAgo)).toBe(true)
      // the same body with the expired key: a new session (within the TTL it was the first one, replayed)
      const fresh = await createSession(second, sessionBody('read-only'), keyed('s-ttl'))
      expect(fresh.status).toBe(201)
      expect(((await fresh.json()) as Session).id).not.toBe(session.id)
    })
  })
})
