import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Approval, Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { agentWsClient } from '../support/agent-ws-client.js'
import { apiClient } from '../support/api-client.js'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'

gatewayModules()

/** Scoped tokens over real sockets: a `read` token watches, an `approve` token decides and is named. */
describe('scoped API tokens', () => {
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      API_TOKENS:
        'runner:run-secret-1:read+run,dash:dash-secret-2:read,lead:lead-secret-3:approve+read,bare-secret-4',
    })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  it('a read token streams and lists but gets 403 on run, cancel and approve', async () => {
    const runner = apiClient(gw.url, 'run-secret-1')
    const dash = apiClient(gw.url, 'dash-secret-2')
    mock.script({ kind: 'text', text: 'slow answer', delayMs: 1000 })
    const run = await runner.json<Run>(runner.post('/v1/runs', { prompt: 'scoped' }), 202)
    const denied = await dash.post('/v1/runs', { prompt: 'not allowed' })
    expect(denied.status).toBe(403)
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('forbidden')
    expect((await dash.post(`/v1/runs/${run.id}/cancel`)).status).toBe(403)
    expect((await dash.post('/v1/approvals/apr_any', { decision: 'accept' })).status).toBe(403)
    expect((await dash.post('/v1/sessions', {})).status).toBe(403)
    const seen = await dash.until(`/v1/runs/${run.id}/events`, (ev) => ev.type === 'run.completed')
    expect(seen.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded' })
    const list = await dash.json<{ runs: Run[] }>(dash.get('/v1/runs'), 200)
    expect(list.runs.map((r) => r.id)).toContain(run.id)
    // A run token cannot answer approvals either; no token at all is 401.
    expect((await runner.post('/v1/approvals/apr_any', { decision: 'accept' })).status).toBe(403)
    expect((await apiClient(gw.url).get('/v1/runs')).status).toBe(401)
  })

  it('the approval record and approval.resolved name the token that decided', async () => {
    const runner = apiClient(gw.url, 'run-secret-1')
    const lead = apiClient(gw.url, 'lead-secret-3')
    const session = await runner.json<Session>(
      runner.post('/v1/sessions', { approvalPolicy: 'untrusted', sandbox: 'workspace-write' }),
      201,
    )
    mock.script({ kind: 'exec_command', cmd: 'echo ok > scoped.txt' }, { kind: 'text', text: 'done' })
    const turn = await runner.json<Turn>(
      runner.post(`/v1/sessions/${session.id}/turns`, { input: 'write it' }),
    )
    const [requested] = (
      await lead.until(`/v1/sessions/${session.id}/events`, (ev) => ev.type === 'approval.requested')
    ).filter((ev) => ev.type === 'approval.requested') as Extract<
      StoredEvent,
      { type: 'approval.requested' }
    >[]
    const decided = await lead.json<Approval>(
      lead.post(`/v1/approvals/${requested!.approvalId}`, { decision: 'accept' }),
      200,
    )
    expect(decided).toMatchObject({ state: 'resolved', decision: 'accept', by: 'lead' })
    const events = await runner.until(
      `/v1/sessions/${session.id}/events`,
      (ev) => ev.type === 'turn.completed' && ev.turnId === turn.id,
    )
    expect(events.find((e) => e.type === 'approval.resolved')).toMatchObject({
      decision: 'accept',
      by: 'lead',
    })
    const stored = await lead.json<Approval>(lead.get(`/v1/approvals/${requested!.approvalId}`), 200)
    expect(stored.by).toBe('lead')
  })

  it('agent work behind a GET or a stream: a read token cannot start it (/agent/ws, POST /agent/stream, GET /hello), a run token cannot approve in a stream', async () => {
    const wsUrl = `${gw.url.replace('http', 'ws')}/agent/ws`
    const asked = mock.requests.length
    const dashWs = agentWsClient(wsUrl, ['agent-stream'], { authorization: 'Bearer dash-secret-2' })
    await expect(dashWs.opened).rejects.toThrow('HTTP 403')
    const dashPost = await fetch(`${gw.url}/agent/stream`, {
      method: 'POST',
      headers: { authorization: 'Bearer dash-secret-2', 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify({ type: 'user_message', sessionId: 'dash-stream', content: 'hi' })}\n`,
    })
    expect(dashPost.status).toBe(403)
    await dashPost.text()
    // seed 000's GET /hello runs an agent too
    expect((await apiClient(gw.url, 'dash-secret-2').get('/hello')).status).toBe(403)
    expect(mock.requests.length).toBe(asked)

    const runner = agentWsClient(wsUrl, ['agent-stream'], { authorization: 'Bearer run-secret-1' })
    await runner.opened
    const sessionId = `scoped-ws-${process.pid}`
    mock.script({ kind: 'exec_command', cmd: 'echo ok > ws-scoped.txt' }, { kind: 'text', text: 'ws done' })
    runner.send({ type: 'user_message', sessionId, content: 'write over ws' })
    const prompt = await runner.next((f) => f.type === 'command_prompt')
    runner.send({ type: 'approve', sessionId, commandId: prompt.commandId, decision: 'allow' })
    const refused = await runner.next((f) => f.type === 'error')
    expect(refused).toMatchObject({ code: 'FORBIDDEN' })
    expect(refused.message).toContain('"runner" lacks the "approve" scope')
    const lead = apiClient(gw.url, 'lead-secret-3')
    const { approvals } = await lead.json<{ approvals: Approval[] }>(
      lead.get('/v1/approvals?state=pending'),
      200,
    )
    expect(approvals).toHaveLength(1)
    // the token that may decide still can
    await lead.json<Approval>(lead.post(`/v1/approvals/${approvals[0]!.id}`, { decision: 'accept' }), 200)
    await runner.next((f) => f.type === 'status' && f.message === 'Agent run completed.')
    runner.ws.close()
  })

  it('a bare token has every scope and is named by its position, never by its secret', async () => {
    const bare = apiClient(gw.url, 'bare-secret-4')
    mock.script({ kind: 'text', text: 'bare ok' })
    const run = await bare.json<Run>(bare.post('/v1/runs?wait=true', { prompt: 'bare' }), 200)
    expect(run.status).toBe('succeeded')
    const res = await bare.post('/v1/approvals/apr_missing', { decision: 'accept' })
    expect(res.status).toBe(404)
  })
})
