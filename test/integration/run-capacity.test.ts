import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { held, type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, readNdjson, startGateway, type TestGateway } from '../support/gateway.js'
import { processesUnder, spawnedFrom, waitUntilGone } from '../support/processes.js'

const terminal = ['succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted']
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Each case starts a gateway, whose first run in its workspace starts after a codex app-server started for its
 * config/read (include-only-reader.ts): 8-16 s at load 21-23 on 2 cores, over 20 s at load 37 (session 36).
 */
const firstStartMs = 45_000

async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = firstStartMs,
  explain?: () => Promise<string>,
) {
  const began = Date.now()
  const deadline = began + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) {
      const more = explain ? `\n${await explain().catch((e: unknown) => String(e))}` : ''
      throw new Error(`timed out waiting for ${what} (${Date.now() - began} ms)${more}`)
    }
    await sleep(50)
  }
}

/** The gateway's runs (status, created, started, pid, error), for a failure's message. */
async function runsNow(gw: TestGateway): Promise<string> {
  const { runs } = (await (await fetch(`${gw.url}/v1/runs?limit=100`)).json()) as { runs: Run[] }
  return runs
    .map(
      (r) =>
        `${r.id} ${r.status} created ${r.createdAt} started ${r.startedAt} pid ${r.pid} ${r.error ?? ''}`,
    )
    .join('\n')
}

async function getRun(gw: TestGateway, id: string): Promise<Run> {
  const res = await fetch(`${gw.url}/v1/runs/${id}`)
  expect(res.status).toBe(200)
  return (await res.json()) as Run
}

async function listRuns(gw: TestGateway, status: string): Promise<Run[]> {
  const res = await fetch(`${gw.url}/v1/runs?status=${status}&limit=100`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { runs: Run[] }).runs
}

async function submit(gw: TestGateway, body: Record<string, unknown>): Promise<Run> {
  const res = await postJson(`${gw.url}/v1/runs`, body)
  expect(res.status).toBe(202)
  return (await res.json()) as Run
}

/**
 * These tests follow each run's own `codex exec` process (capacity, cancel, disconnect, timeout end it), so the
 * gateway runs every one-shot run on exec; the same on warm runs: test/integration/codex-warm-runs.test.ts.
 */
const execRuns = { CODEX_WARM_RUNS: 'false' }

/** Polls GET /v1/runs/:id until the run is finished. */
async function finished(gw: TestGateway, id: string, timeoutMs = 30_000): Promise<Run> {
  let run = await getRun(gw, id)
  await waitFor(
    async () => {
      run = await getRun(gw, id)
      return terminal.includes(run.status)
    },
    `run ${id} to finish`,
    timeoutMs,
  )
  return run
}

async function eventsOf(gw: TestGateway, id: string) {
  const res = await fetch(`${gw.url}/v1/runs/${id}/events`, { headers: { accept: 'application/x-ndjson' } })
  expect(res.status).toBe(200)
  return readNdjson(res)
}

/**
 * The codex processes of runs: children of this process (the gateway runs in it) working in the workspace.
 * Helpers codex starts itself (its login-shell snapshot, lsb_release) are not counted.
 */
const codexProcesses = (gw: TestGateway) =>
  spawnedFrom().filter(
    (p) => p.cwd !== null && (p.cwd === gw.workspace || p.cwd.startsWith(`${gw.workspace}/`)),
  )

/** Runs beyond MAX_CONCURRENT_RUNS queue, beyond MAX_QUEUED_RUNS are refused; cancel, disconnect, timeout. */
describe('/v1/runs capacity and run lifecycle (real codex)', () => {
  let mock: MockLlm
  let gw: TestGateway | undefined

  gatewayModules()
  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterEach(async () => {
    await gw?.close()
    gw = undefined
    mock.reset()
  })
  afterAll(async () => {
    await mock.close()
  })

  it('runs at most MAX_CONCURRENT_RUNS at once, queues up to MAX_QUEUED_RUNS, then answers 429', async () => {
    gw = await startGateway(mock, { ...execRuns, MAX_CONCURRENT_RUNS: '2', MAX_QUEUED_RUNS: '4' })
    const g = gw
    // every answer is held until the 429 was seen (two runs certainly still run and four wait), then takes 1.5 s
    const answers = held({ kind: 'text', text: 'capacity ok', delayMs: 1500 })
    mock.setDefault(answers.step)
    let maxProcesses = 0
    const sampler = setInterval(() => {
      maxProcesses = Math.max(maxProcesses, codexProcesses(g).length)
    }, 50)
    try {
      const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => submit(g, { prompt: `run ${i}` })))
      expect(new Set(runs.map((r) => r.id)).size).toBe(6)
      for (const r of runs) expect(['queued', 'running']).toContain(r.status)

      await waitFor(
        async () => (await listRuns(g, 'running')).length === 2,
        'two runs to start',
        firstStartMs,
        () => runsNow(g),
      )
      expect((await listRuns(g, 'running')).length).toBe(2)
      expect((await listRuns(g, 'queued')).length).toBe(4)

      const refused = await postJson(`${g.url}/v1/runs`, { prompt: 'one too many' })
      expect(refused.status).toBe(429)
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/)
      const body = (await refused.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('over_capacity')
      expect(typeof body.error.message).toBe('string')
      expect(body.error.message.length).toBeGreaterThan(0)

      answers.release()
      const done = await Promise.all(runs.map((r) => finished(g, r.id, 45_000)))
      for (const r of done) {
        expect(r.status).toBe('succeeded')
        expect(r.finalResponse).toBe('capacity ok')
      }
      // The refused submission created no run.
      const all = (await (await fetch(`${g.url}/v1/runs?limit=100`)).json()) as { runs: Run[] }
      expect(all.runs.length).toBe(6)
    } finally {
      clearInterval(sampler)
    }
    expect(maxProcesses).toBeGreaterThanOrEqual(1)
    expect(maxProcesses).toBeLessThanOrEqual(2)
    expect(await waitUntilGone(() => processesUnder(g.workspace))).toEqual([])
    // three waves of two codex runs after that first start: 27-34 s at load 21-23
  }, 90_000)

  it('cancels a queued run (it never starts) and a running run (its process ends); a second cancel is 409', async () => {
    gw = await startGateway(mock, { ...execRuns, MAX_CONCURRENT_RUNS: '1' })
    const g = gw
    mock.setDefault({ kind: 'text', text: 'never', delayMs: 30_000 })
    const running = await submit(g, { prompt: 'the running one' })
    const queued = await submit(g, { prompt: 'the queued one' })
    await waitFor(async () => (await getRun(g, running.id)).status === 'running', 'the first run to start')
    await waitFor(() => codexProcesses(g).length === 1, 'the codex process of the first run')
    expect((await getRun(g, queued.id)).status).toBe('queued')

    const cancelQueued = await postJson(`${g.url}/v1/runs/${queued.id}/cancel`, {})
    expect(cancelQueued.status).toBe(200)
    const q = (await cancelQueued.json()) as Run
    expect(q.status).toBe('cancelled')
    expect(q.reason).toBe('cancelled')
    expect(q.startedAt).toBeNull()
    expect(q.pid).toBeNull()
    const qEvents = await eventsOf(g, queued.id)
    expect(qEvents.map((e) => e.type)).toEqual(['run.queued', 'run.completed'])
    expect(qEvents.at(-1)).toMatchObject({ status: 'cancelled', reason: 'cancelled' })
    // Only the first run's process exists: the cancelled queued run never spawned one.
    expect(codexProcesses(g).length).toBe(1)

    const cancelRunning = await postJson(`${g.url}/v1/runs/${running.id}/cancel`, {})
    expect(cancelRunning.status).toBe(200)
    const r = (await cancelRunning.json()) as Run
    expect(r.status).toBe('cancelled')
    expect(r.reason).toBe('cancelled')
    expect(r.startedAt).not.toBeNull()
    expect(await waitUntilGone(() => processesUnder(g.workspace))).toEqual([])
    const rEvents = await eventsOf(g, running.id)
    expect(rEvents.map((e) => e.type)).toContain('run.started')
    expect(rEvents.at(-1)).toMatchObject({ type: 'run.completed', status: 'cancelled', reason: 'cancelled' })

    for (const id of [running.id, queued.id]) {
      const again = await postJson(`${g.url}/v1/runs/${id}/cancel`, {})
      expect(again.status).toBe(409)
      expect(((await again.json()) as { error: { code: string } }).error.code).toBe('conflict')
    }
    expect((await getRun(g, running.id)).status).toBe('cancelled')
  }, 60_000)

  it('a streaming client that disconnects does not end the run', async () => {
    gw = await startGateway(mock, execRuns)
    const g = gw
    // the answer is held until the client left and the run was seen unfinished
    const answer = held({ kind: 'text', text: 'finished without a listener' })
    mock.setDefault(answer.step)
    const res = await postJson(
      `${g.url}/v1/runs`,
      { prompt: 'stream then leave' },
      { accept: 'text/event-stream' },
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const id = res.headers.get('x-run-id')!
    expect(id).toMatch(/^run_/)
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(first.done).toBe(false)
    expect(new TextDecoder().decode(first.value)).toContain('event: run.queued')
    await reader.cancel()
    expect(terminal).not.toContain((await getRun(g, id)).status)
    answer.release()

    const run = await finished(g, id)
    expect(run.status).toBe('succeeded')
    expect(run.finalResponse).toBe('finished without a listener')
    expect(await waitUntilGone(() => processesUnder(g.workspace))).toEqual([])
  }, 60_000)

  it('with cancelOnDisconnect a streaming client that disconnects cancels the run', async () => {
    gw = await startGateway(mock, execRuns)
    const g = gw
    mock.setDefault({ kind: 'text', text: 'never', delayMs: 30_000 })
    const res = await postJson(
      `${g.url}/v1/runs`,
      { prompt: 'stream then leave', cancelOnDisconnect: true },
      { accept: 'text/event-stream' },
    )
    expect(res.status).toBe(200)
    const id = res.headers.get('x-run-id')!
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(first.done).toBe(false)
    await waitFor(() => codexProcesses(g).length === 1, 'the codex process')
    await reader.cancel()

    const run = await finished(g, id)
    expect(run.status).toBe('cancelled')
    expect(run.reason).toBe('cancelled')
    expect(await waitUntilGone(() => processesUnder(g.workspace))).toEqual([])
  }, 60_000)

  it('timeoutMs ends a slow run as timed_out', async () => {
    gw = await startGateway(mock, execRuns)
    const g = gw
    mock.setDefault({ kind: 'text', text: 'too slow', delayMs: 30_000 })
    const res = await postJson(`${g.url}/v1/runs?wait=true`, { prompt: 'slow', timeoutMs: 800 })
    expect(res.status).toBe(200)
    const run = (await res.json()) as Run
    expect(run.status).toBe('timed_out')
    expect(run.reason).toBe('timed_out')
    expect(run.request.timeoutMs).toBe(800)
    // below the 30 s answer it did not wait for (asked after the run was created); 20 s before, which a start and
    // end of codex passed at load 37 (24.7 s)
    expect(Date.parse(run.finishedAt!) - Date.parse(run.createdAt)).toBeLessThan(30_000)
    const events = await eventsOf(g, run.id)
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', status: 'timed_out' })
    expect(await waitUntilGone(() => processesUnder(g.workspace))).toEqual([])
  }, 60_000)
})
