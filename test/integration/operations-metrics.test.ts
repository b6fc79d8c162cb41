import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { held, type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { parsePrometheus, sample } from '../support/prometheus.js'
import { readSseUntil } from '../support/sse-client.js'

const ops = 'ops-secret-0123'
const dash = 'dash-secret-4567'
const scrape = 'scrape-secret-89'
const tenantAdmin = 'tenant-admin-secret-12'

gatewayModules()

/** GET /metrics scraped while real codex runs are queued and running, parsed with a Prometheus text parser. */
describe('GET /metrics', () => {
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      API_TOKENS: `ops:${ops}:read+run+approve,dash:${dash}:read,teamlead:${tenantAdmin}:admin:team-a`,
      METRICS_TOKEN: scrape,
      MAX_CONCURRENT_RUNS: '2',
    })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  const auth = (token: string) => ({ authorization: `Bearer ${token}` })
  let lastText = ''
  const metrics = async (token = scrape) => {
    const res = await fetch(`${gw.url}/metrics`, { headers: auth(token) })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    lastText = await res.text()
    return parsePrometheus(lastText)
  }
  /** The parser folds labelled histograms into one sample, so their _count/_sum lines are read directly. */
  const histogramLine = (suffix: 'count' | 'sum') =>
    Number(
      new RegExp(
        `^agent_gateway_run_duration_seconds_${suffix}\\{agent="codex",status="succeeded"\\} (\\S+)$`,
        'm',
      ).exec(lastText)?.[1] ?? 0,
    )

  it('needs a token: METRICS_TOKEN or an API token with read; nothing else', async () => {
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${gw.url}/metrics`, { headers: auth('wrong') })).status).toBe(401)
    await metrics(scrape)
    await metrics(dash)
    // METRICS_TOKEN opens /metrics only.
    expect((await fetch(`${gw.url}/v1/runs`, { headers: auth(scrape) })).status).toBe(401)
    // A tenant's token, admin included, sees its tenant only: /metrics counts every tenant's runs, sessions and
    // events (before, it answered 200 to any token with read). Its own routes still answer it.
    const refused = await fetch(`${gw.url}/metrics`, { headers: auth(tenantAdmin) })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toEqual({
      error: {
        code: 'forbidden',
        message:
          'token "teamlead" is bound to tenant "team-a" and /metrics counts the whole server: use METRICS_TOKEN or an untenanted token',
      },
    })
    expect((await fetch(`${gw.url}/v1/runs`, { headers: auth(tenantAdmin) })).status).toBe(200)
  })

  it('counters and gauges move under load', async () => {
    const before = await metrics()
    for (const name of [
      'agent_gateway_runs_total',
      'agent_gateway_run_duration_seconds',
      'agent_gateway_runs_queued',
      'agent_gateway_running_processes',
      'agent_gateway_sessions',
      'agent_gateway_approvals_pending',
      'agent_gateway_approval_resolve_failures_total',
      'agent_gateway_approval_answers_found_total',
      'agent_gateway_approvals_swept_total',
      'agent_gateway_session_states_recomputed_total',
      'agent_gateway_agent_archives_failed_total',
      'agent_gateway_end_store_failures_total',
      'agent_gateway_events_total',
      'agent_gateway_events_relayed_total',
      'agent_gateway_streams_open',
      'agent_gateway_webhook_deliveries_total',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      expect(before.has(name), name).toBe(true)
    const succeededBefore = sample(before, 'agent_gateway_runs_total', {
      agent: 'codex',
      status: 'succeeded',
    })

    // Four slow runs, two slots: two run, two queue. Their answers are held until the gauges were read (the first
    // two certainly still run then), and each takes 1.5 s once released.
    const answers = Array.from({ length: 4 }, (_, i) =>
      held({ kind: 'text', text: `loaded ${i}`, delayMs: 1500 }),
    )
    mock.script(...answers.map((a) => a.step))
    const runs: Run[] = []
    for (let i = 0; i < 4; i++) {
      const res = await postJson(`${gw.url}/v1/runs`, { prompt: `load ${i}` }, auth(ops))
      expect(res.status).toBe(202)
      runs.push((await res.json()) as Run)
    }
    const stream = await fetch(`${gw.url}/v1/runs/${runs[0]!.id}/events`, {
      headers: { accept: 'text/event-stream', ...auth(dash) },
    })
    // Synchronise on the stream: once the first run has started, it is in flight and the last ones wait.
    const frames = readSseUntil(stream, (f) => f.event === 'run.completed')
    await until(async () => sample(await metrics(), 'agent_gateway_running_processes') === 2)
    const during = await metrics()
    expect(sample(during, 'agent_gateway_runs_running')).toBe(2)
    expect(sample(during, 'agent_gateway_runs_queued')).toBe(2)
    expect(sample(during, 'agent_gateway_streams_open', { format: 'sse' })).toBe(1)
    expect(sample(during, 'agent_gateway_runs_total', { agent: 'codex', status: 'submitted' })).toBe(
      sample(before, 'agent_gateway_runs_total', { agent: 'codex', status: 'submitted' }) + 4,
    )
    for (const a of answers) a.release()
    await frames
    for (const r of runs)
      await fetch(`${gw.url}/v1/runs/${r.id}/events`, {
        headers: { accept: 'application/x-ndjson', ...auth(dash) },
      }).then((res) => res.text())

    const after = await metrics()
    expect(sample(after, 'agent_gateway_runs_total', { agent: 'codex', status: 'succeeded' })).toBe(
      succeededBefore + 4,
    )
    expect(after.get('agent_gateway_run_duration_seconds')?.type).toBe('HISTOGRAM')
    expect(histogramLine('count')).toBe(succeededBefore + 4)
    expect(histogramLine('sum')).toBeGreaterThan(4 * 1.5)
    expect(sample(after, 'agent_gateway_events_total', { type: 'run.completed' })).toBe(
      sample(before, 'agent_gateway_events_total', { type: 'run.completed' }) + 4,
    )
    expect(sample(after, 'agent_gateway_events_relayed_total', { format: 'sse' })).toBeGreaterThan(0)
    expect(sample(after, 'agent_gateway_events_relayed_total', { format: 'ndjson' })).toBeGreaterThan(0)
    expect(sample(after, 'agent_gateway_streams_open', { format: 'sse' })).toBe(0)
    expect(sample(after, 'agent_gateway_runs_queued')).toBe(0)
    expect(sample(after, 'agent_gateway_running_processes')).toBe(0)
  })

  it('warm runs: what codex made ahead and what it served', async () => {
    const counts = async () => {
      const m = await metrics()
      return {
        started: sample(m, 'agent_gateway_warm_started_total', { agent: 'codex' }),
        served: sample(m, 'agent_gateway_warm_served_total', { agent: 'codex' }),
        waitingListed: m.get('agent_gateway_warm_waiting')?.metrics.some((x) => x.labels?.agent === 'codex'),
      }
    }
    const before = await counts()
    // The first run of these options starts a thread ahead for the next one, which takes it.
    for (const text of ['warm 1', 'warm 2']) {
      mock.script({ kind: 'text', text })
      const res = await postJson(`${gw.url}/v1/runs?wait=true`, { prompt: text }, auth(ops))
      expect(((await res.json()) as Run).status).toBe('succeeded')
    }
    const after = await counts()
    expect(after.served).toBeGreaterThan(before.served)
    expect(after.started).toBeGreaterThanOrEqual(after.served)
    expect(after.waitingListed).toBe(true)
  })

  it('agent_gateway_sessions counts the sessions in each state', async () => {
    const count = (families: ReturnType<typeof parsePrometheus>, state: string) =>
      sample(families, 'agent_gateway_sessions', { state })
    const before = await metrics()
    const opened: string[] = []
    for (let i = 0; i < 2; i++) {
      const res = await postJson(`${gw.url}/v1/sessions`, {}, auth(ops))
      expect(res.status).toBe(201)
      opened.push(((await res.json()) as { id: string }).id)
    }
    const archived = await fetch(`${gw.url}/v1/sessions/${opened[0]}/archive`, {
      method: 'POST',
      headers: auth(ops),
    })
    expect(archived.status).toBe(200)
    const after = await metrics()
    expect(count(after, 'idle')).toBe(count(before, 'idle') + 1)
    expect(count(after, 'archived')).toBe(count(before, 'archived') + 1)
    expect(count(after, 'running')).toBe(0)
  })
})

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 50))
  }
}
