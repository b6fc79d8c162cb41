import { beforeEach, describe, expect, it, onTestFinished } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { held, type MockLlm } from '../mock-llm/index.js'
import { postJson, sharedGateway, type TestGateway } from '../support/gateway.js'

const listRuns = async (url: string) =>
  ((await (await fetch(`${url}/v1/runs?limit=100`)).json()) as { runs: Run[] }).runs

/** Polls until `find` answers something (30 s: what a loaded machine may take); that answer. */
async function until<T>(find: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const found = await find()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The seed routes' runs are durable runs: in history, under the same capacity as /v1/runs. */
describe('seed route runs are durable runs', () => {
  const shared = sharedGateway({ MAX_CONCURRENT_RUNS: '1', MAX_QUEUED_RUNS: '0' })
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => ({ mock, gw } = shared))

  it('every seed route run is listed in /v1/runs with the route that started it, events kept', async () => {
    mock.script({ kind: 'text', text: 'chat answer' })
    const chat = await postJson(`${gw.url}/chat`, { prompt: 'seed chat' })
    expect(await chat.json()).toMatchObject({ stdout: 'chat answer\n', returncode: 0 })
    mock.script({ kind: 'text', text: 'greetings' })
    expect(await (await fetch(`${gw.url}/hello`)).text()).toBe('greetings')
    mock.script({ kind: 'text', text: 'from api codex' })
    const api = await postJson(`${gw.url}/api/codex/run`, { prompt: 'seed api' })
    expect(await api.json()).toMatchObject({ final_response: 'from api codex' })
    const run = await postJson(`${gw.url}/run`, { cli: 'codex', args: ['--version'] })
    expect(await run.text()).toMatch(/"type":"exit","code":0/)

    const runs = await listRuns(gw.url)
    const byOrigin = Object.fromEntries(runs.map((r) => [r.origin, r]))
    expect(byOrigin['POST /chat']).toMatchObject({
      agent: 'codex',
      status: 'succeeded',
      finalResponse: 'chat answer',
    })
    expect(byOrigin['GET /hello']).toMatchObject({ status: 'succeeded', finalResponse: 'greetings' })
    expect(byOrigin['POST /api/codex/run']).toMatchObject({ agent: 'cli', status: 'succeeded' })
    expect(byOrigin['POST /run']).toMatchObject({ agent: 'cli', status: 'succeeded', exitCode: 0 })
    const chatRun = byOrigin['POST /chat']!
    const events = await (
      await fetch(`${gw.url}/v1/runs/${chatRun.id}/events`, { headers: { accept: 'application/x-ndjson' } })
    ).text()
    expect(events).toMatch(/"type":"run.completed"/)
  })

  it('beyond MAX_CONCURRENT_RUNS + MAX_QUEUED_RUNS every route answers 429 in its own shape', async () => {
    // it holds the one slot from its start; its answer never comes (the run is cancelled at the end)
    const slow = held({ kind: 'text', text: 'slow' })
    mock.script(slow.step)
    const busy = (await (await postJson(`${gw.url}/v1/runs`, { prompt: 'occupy' })).json()) as Run
    // the slot is freed however the case ends: the next case needs it
    onTestFinished(async () => {
      await fetch(`${gw.url}/v1/runs/${busy.id}/cancel`, { method: 'POST' })
    })
    await slow.asked

    const chat = await postJson(`${gw.url}/chat`, { prompt: 'no room' })
    expect(chat.status).toBe(429)
    expect(chat.headers.get('retry-after')).toBe('5')
    expect(await chat.json()).toMatchObject({
      error: 'codex is busy',
      details: expect.stringMatching(/MAX_QUEUED_RUNS/),
      provider: 'codex',
    })
    const hello = await fetch(`${gw.url}/hello`)
    expect(hello.status).toBe(429)
    await hello.text()
    const run = await postJson(`${gw.url}/run`, { cli: 'codex', args: ['--version'] })
    expect(run.status).toBe(429)
    // seed 001's original was a FastAPI app: {detail}
    expect(await run.json()).toEqual({ detail: expect.stringMatching(/MAX_QUEUED_RUNS/) })
    // seed 002's routes answer FastAPI's shape, as all their errors
    for (const route of ['/api/codex/run', '/api/codex/stream']) {
      const res = await postJson(gw.url + route, { prompt: 'no room' })
      expect(res.status, route).toBe(429)
      expect(await res.json()).toEqual({ detail: expect.stringMatching(/^over capacity: .*MAX_QUEUED_RUNS/) })
    }
    const v1 = await postJson(`${gw.url}/v1/runs`, { prompt: 'no room' })
    expect(v1.status).toBe(429)
    await v1.text()
  })

  it('a client leaving a seed route ends its run, recorded as such', async () => {
    // its answer never comes: only the client leaving ends the run
    const never = held({ kind: 'text', text: 'never read' })
    mock.script(never.step)
    const controller = new AbortController()
    const res = fetch(`${gw.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'leave early' }),
      signal: controller.signal,
    }).catch(() => null)
    await never.asked
    const chatRun = await until(
      async () => (await listRuns(gw.url)).find((r) => r.origin === 'POST /chat' && r.status === 'running'),
      'the /chat run to run',
    )
    controller.abort()
    await res
    const final = await until(async () => {
      const run = (await (await fetch(`${gw.url}/v1/runs/${chatRun.id}`)).json()) as Run
      return run.status === 'running' ? undefined : run
    }, 'the /chat run to end')
    expect(final).toMatchObject({ status: 'cancelled', reason: 'client_gone' })
    expect(final.error).toMatch(/cancel/i)
  })
})
