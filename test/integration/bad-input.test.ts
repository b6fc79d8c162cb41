import { beforeEach, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Session } from '../../src/protocol/sessions.js'
import type { MockLlm } from '../mock-llm/index.js'
import { postJson, sharedGateway, type TestGateway } from '../support/gateway.js'

/**
 * Input JSON allows but no agent can carry (NUL, lone surrogates), numbers beyond what the runtime holds,
 * and requests the agent refuses: a 400/409 at once with a message saying what to do, never a hang or a 5xx.
 * Real server on a real socket, the real codex against the mock model.
 */
describe('bad input gets a clear 4xx at once', () => {
  const shared = sharedGateway()
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => ({ mock, gw } = shared))

  const uncarriable = ['\u0000', 'a\u0000b', '\ud800', 'x\udc00', '\udbff\u0041']

  it('refuses NUL and lone surrogates in prompts, args, env, cwd and turn input on every route', async () => {
    const session = (await (await postJson(`${gw.url}/v1/sessions`, {})).json()) as Session
    for (const bad of uncarriable) {
      const cases: [string, unknown][] = [
        ['/v1/runs', { prompt: `hi ${bad}` }],
        ['/v1/runs', { prompt: 'hi', cwd: bad }],
        ['/v1/runs', { agent: 'cli', command: { cli: 'codex', args: ['--version', bad] } }],
        ['/v1/runs', { agent: 'cli', command: { cli: 'codex', args: [], env: { [`K${bad}`]: 'v' } } }],
        ['/chat', { prompt: bad }],
        ['/run', { cli: 'codex', args: ['--version'], env: { A: bad } }],
        ['/run', { cli: 'codex', args: ['--version'], stdin: bad }],
        ['/api/codex/run', { prompt: bad }],
        ['/api/codex/stream', { prompt: 'hi', working_directory: bad }],
        [`/v1/sessions/${session.id}/turns`, { input: bad }],
        ['/api/turn/start', { threadId: session.agentSessionId, input: [{ type: 'text', text: bad }] }],
        ['/v1/sessions', { cwd: bad }],
      ]
      for (const [route, body] of cases) {
        const started = Date.now()
        const res = await postJson(gw.url + route, body)
        const text = await res.text()
        expect(res.status, `${route} ${JSON.stringify(body)}`).toBe(400)
        expect(text).toMatch(/NUL character|lone UTF-16 surrogate/)
        expect(text).toMatch(/remove it/)
        expect(Date.now() - started).toBeLessThan(5000)
      }
    }
    // a NUL in the query or path is refused the same way
    const res = await fetch(`${gw.url}/v1/runs?agent=a%00b`)
    expect(res.status).toBe(400)
    expect(mock.requests).toHaveLength(0)

    // the session was never touched: it takes a turn, and interrupt answers at once (nothing runs)
    mock.script({ kind: 'text', text: 'still fine' })
    const turn = await postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'hello' })
    expect(turn.status).toBe(200)
    expect(await turn.json()).toMatchObject({ status: 'completed', finalResponse: 'still fine' })
    const interrupt = await fetch(`${gw.url}/v1/sessions/${session.id}/interrupt`, { method: 'POST' })
    expect(interrupt.status).toBe(409)
  })

  it('bounds every number by its schema: a timeout beyond what a timer holds is refused, not run', async () => {
    for (const timeoutMs of [2 ** 31, 1e15, 2 ** 53]) {
      const res = await postJson(`${gw.url}/v1/runs`, { prompt: 'hi', timeoutMs })
      expect(res.status).toBe(400)
      expect(await res.text()).toMatch(/timeoutMs/)
    }
    mock.script({ kind: 'text', text: 'long timeout ok' })
    const res = await postJson(`${gw.url}/v1/runs?wait=true`, { prompt: 'hi', timeoutMs: 2 ** 31 - 1 })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'succeeded', finalResponse: 'long timeout ok' })
  })

  it('forking a session with no turns is 409 with what to do; after a turn it forks', async () => {
    const session = (await (await postJson(`${gw.url}/v1/sessions`, {})).json()) as Session
    const early = await fetch(`${gw.url}/v1/sessions/${session.id}/fork`, { method: 'POST' })
    expect(early.status).toBe(409)
    expect(((await early.json()) as { error: { message: string } }).error.message).toMatch(
      /no turns yet.*start a turn/,
    )
    // seed 003 answers what app-server answers its original: no rollout to fork yet
    const seed = await postJson(`${gw.url}/api/thread/fork`, { threadId: session.agentSessionId })
    expect(seed.status).toBe(400)
    expect(await seed.json()).toEqual({
      detail: { code: -32600, message: `no rollout found for thread id ${session.agentSessionId}` },
    })
    // nor to resume, nor turns to list: codex's own refusals, as the original passed them on (both were a 200)
    const resume = await postJson(`${gw.url}/api/thread/resume`, { threadId: session.agentSessionId })
    expect(resume.status).toBe(400)
    expect(await resume.json()).toEqual({
      detail: { code: -32600, message: `no rollout found for thread id ${session.agentSessionId}` },
    })
    const read = await postJson(`${gw.url}/api/thread/read`, {
      threadId: session.agentSessionId,
      includeTurns: true,
    })
    expect(read.status).toBe(400)
    expect(await read.json()).toEqual({
      detail: { code: -32601, message: 'list_turns is not supported yet' },
    })

    mock.script({ kind: 'text', text: 'first' })
    await postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'one' })
    const fork = await fetch(`${gw.url}/v1/sessions/${session.id}/fork`, { method: 'POST' })
    expect(fork.status).toBe(201)
    // a fork holds its parent's turn from the start: it forks before a turn of its own (was the 409 above)
    const forked = (await fork.json()) as Session
    const again = await fetch(`${gw.url}/v1/sessions/${forked.id}/fork`, { method: 'POST' })
    expect(again.status).toBe(201)
    expect(await again.json()).toMatchObject({ forkedFrom: forked.id, forkedAtTurn: 0 })
  })

  it("an archived session answers app-server's refusal on resume, and is still read, not a 500", async () => {
    const session = (await (await postJson(`${gw.url}/v1/sessions`, {})).json()) as Session
    expect((await fetch(`${gw.url}/v1/sessions/${session.id}/archive`, { method: 'POST' })).status).toBe(200)
    // seed 003 answers what app-server answers its original (codex archives a thread with no turns too)
    const id = session.agentSessionId
    const resume = await postJson(`${gw.url}/api/thread/resume`, { threadId: id })
    expect(resume.status).toBe(400)
    expect(await resume.json()).toEqual({
      detail: {
        code: -32600,
        message: `session ${id} is archived. Run \`codex unarchive ${id}\` to unarchive it first.`,
      },
    })
    const read = await postJson(`${gw.url}/api/thread/read`, { threadId: id, includeTurns: true })
    expect(read.status).toBe(200)
    expect(await read.json()).toMatchObject({ thread: { id, turns: [] } })
    expect((await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'x' })).status).toBe(409)
  })

  it('bad parameters of a compatibility call are a 400 naming the field, before codex sees them', async () => {
    // (a wrong type is FastAPI's 422, as the original's pydantic answered it: codex-agent-server-routes.test.ts)
    const res = await postJson(`${gw.url}/api/skills/list`, { cwds: [''] })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ detail: expect.stringMatching(/body\.cwds\.0: /) })
  })

  it('a docs page asked for with a query redirects once, not forever', async () => {
    const res = await fetch(`${gw.url}/docs/static/index.html?x=1`, { redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/docs/')
    expect((await fetch(new URL('/docs/', gw.url))).status).toBe(200)
  })

  it('a reader resuming past the end of a live run is closed when the run ends', async () => {
    mock.script({ kind: 'text', text: 'slow answer', delayMs: 1500 })
    const run = (await (await postJson(`${gw.url}/v1/runs`, { prompt: 'slow' })).json()) as Run
    const readers = [{ query: '?after=100000' }, { query: '', headers: { 'last-event-id': '100000' } }].map(
      async ({ query, headers }) => {
        const res = await fetch(`${gw.url}/v1/runs/${run.id}/events${query}`, {
          headers: { accept: 'application/x-ndjson', ...headers },
        })
        expect(res.status).toBe(200)
        // the body completes once the run ends, with nothing in it
        return res.text()
      },
    )
    expect(await Promise.all(readers)).toEqual(['', ''])
    const done = (await (await fetch(`${gw.url}/v1/runs/${run.id}`)).json()) as Run
    expect(done.status).toBe('succeeded')
    const res = await fetch(`${gw.url}/v1/runs/${run.id}/events`, {
      headers: { accept: 'application/x-ndjson' },
    })
    const events = (await res.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as StoredEvent)
    expect(events.at(-1)?.type).toBe('run.completed')
  })
})
