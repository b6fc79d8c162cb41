import { existsSync, readFileSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Approval, Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { wsClient } from '../support/agent-ws-client.js'
import { apiClient } from '../support/api-client.js'
import { homeKnowsThread } from '../support/codex-home.js'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'
import { listProcesses } from '../support/processes.js'
import { readSseUntil } from '../support/sse-client.js'

type Client = ReturnType<typeof apiClient>

/** CODEX_HOME of every live `codex app-server` process (from /proc/<pid>/environ). */
function appServerHomes(): string[] {
  const homes: string[] = []
  for (const p of listProcesses()) {
    if (!/codex.* app-server/.test(p.cmd)) continue
    try {
      const env = readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0')
      const home = env.find((e) => e.startsWith('CODEX_HOME='))
      if (home) homes.push(home.slice('CODEX_HOME='.length))
    } catch {}
  }
  return homes
}

gatewayModules()

/**
 * Two tenants over real sockets, with the real codex CLI against the mock model: neither can list, read,
 * stream, cancel or approve the other's runs and sessions (404, as if they did not exist), and their agents
 * run in separate workspace roots with separate CODEX_HOMEs (separate app-server processes).
 */
describe('tenants', () => {
  let mock: MockLlm
  let gw: TestGateway
  let alpha: Client
  let beta: Client
  let ops: Client
  let tenantsDir: string
  const seen: { alphaRun?: Run; betaRun?: Run; alphaSession?: Session; betaSession?: Session } = {}

  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      API_TOKENS:
        'alpha:alpha-secret-1:read+run+approve:team-a,beta:beta-secret-2:read+run+approve:team-b,ops:ops-secret-3:admin',
    })
    tenantsDir = path.join(gw.env.DATA_DIR!, 'tenants')
    alpha = apiClient(gw.url, 'alpha-secret-1')
    beta = apiClient(gw.url, 'beta-secret-2')
    ops = apiClient(gw.url, 'ops-secret-3')
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  const workspaceOf = (tenant: string) => realpathSync(path.join(tenantsDir, tenant, 'workspace'))
  const codexHomeOf = (tenant: string) => path.join(tenantsDir, tenant, 'home', '.codex')

  it('runs: each tenant runs in its own workspace root and CODEX_HOME, and sees only its own', async () => {
    mock.script({ kind: 'text', text: 'alpha answer' })
    const alphaRun = await alpha.json<Run>(alpha.post('/v1/runs?wait=true', { prompt: 'alpha run' }), 200)
    mock.script({ kind: 'text', text: 'beta answer' })
    const betaRun = await beta.json<Run>(beta.post('/v1/runs?wait=true', { prompt: 'beta run' }), 200)
    seen.alphaRun = alphaRun
    seen.betaRun = betaRun
    expect(alphaRun).toMatchObject({ status: 'succeeded', tenant: 'team-a', finalResponse: 'alpha answer' })
    expect(betaRun).toMatchObject({ status: 'succeeded', tenant: 'team-b', finalResponse: 'beta answer' })
    expect(alphaRun.request.cwd).toBe(workspaceOf('team-a'))
    expect(betaRun.request.cwd).toBe(workspaceOf('team-b'))
    // codex kept each run's thread in its tenant's CODEX_HOME, and nowhere else.
    expect(alphaRun.agentSessionId).toBeTruthy()
    expect(homeKnowsThread(codexHomeOf('team-a'), alphaRun.agentSessionId!)).toBe(true)
    expect(homeKnowsThread(codexHomeOf('team-b'), alphaRun.agentSessionId!)).toBe(false)
    expect(homeKnowsThread(gw.env.CODEX_HOME!, alphaRun.agentSessionId!)).toBe(false)
    expect(homeKnowsThread(codexHomeOf('team-b'), betaRun.agentSessionId!)).toBe(true)
    expect(homeKnowsThread(codexHomeOf('team-a'), betaRun.agentSessionId!)).toBe(false)

    const listed = async (c: Client) =>
      (await c.json<{ runs: Run[] }>(c.get('/v1/runs'), 200)).runs.map((r) => r.id)
    expect(await listed(alpha)).toEqual([alphaRun.id])
    expect(await listed(beta)).toEqual([betaRun.id])
    // An untenanted token, even an admin one, sees only untenanted resources.
    expect(await listed(ops)).toEqual([])

    for (const [c, other] of [
      [beta, alphaRun],
      [alpha, betaRun],
      [ops, alphaRun],
    ] as const) {
      expect((await c.get(`/v1/runs/${other.id}`)).status).toBe(404)
      expect((await c.get(`/v1/runs/${other.id}/events`, { accept: 'text/event-stream' })).status).toBe(404)
      expect((await c.get(`/v1/runs/${other.id}/events`, { accept: 'application/x-ndjson' })).status).toBe(
        404,
      )
      expect((await c.post(`/v1/runs/${other.id}/cancel`)).status).toBe(404)
    }
    const own = await alpha.until(`/v1/runs/${alphaRun.id}/events`, (ev) => ev.type === 'run.completed')
    expect(own.at(-1)).toMatchObject({ type: 'run.completed', status: 'succeeded' })
    // A cwd outside the tenant's root is refused, also the server's own workspace.
    const outside = await alpha.post('/v1/runs', { prompt: 'escape', cwd: gw.workspace })
    expect(outside.status).toBe(400)
  })

  it("sessions and approvals: the other tenant's are 404 everywhere; agents write in their own root", async () => {
    const create = (c: Client) =>
      c.json<Session>(
        c.post('/v1/sessions', { approvalPolicy: 'untrusted', sandbox: 'workspace-write' }),
        201,
      )
    const alphaSession = await create(alpha)
    const betaSession = await create(beta)
    seen.alphaSession = alphaSession
    seen.betaSession = betaSession
    expect(alphaSession).toMatchObject({ tenant: 'team-a', cwd: workspaceOf('team-a') })
    expect(betaSession).toMatchObject({ tenant: 'team-b', cwd: workspaceOf('team-b') })

    mock.script({ kind: 'exec_command', cmd: 'pwd > where.txt' }, { kind: 'text', text: 'alpha wrote' })
    const turn = await alpha.json<Turn>(
      alpha.post(`/v1/sessions/${alphaSession.id}/turns`, { input: 'write where you are' }),
    )
    const requested = (
      await alpha.until(`/v1/sessions/${alphaSession.id}/events`, (ev) => ev.type === 'approval.requested')
    ).find((ev) => ev.type === 'approval.requested') as Extract<StoredEvent, { type: 'approval.requested' }>
    const approvalId = requested.approvalId

    // The pending approval: listed and streamed for its tenant only; 404 to the other one.
    const pendingIds = async (c: Client) =>
      (await c.json<{ approvals: Approval[] }>(c.get('/v1/approvals?state=pending'), 200)).approvals.map(
        (a) => a.id,
      )
    expect(await pendingIds(alpha)).toEqual([approvalId])
    expect(await pendingIds(beta)).toEqual([])
    expect(await pendingIds(ops)).toEqual([])
    const inbox = async (c: Client) => {
      const res = await c.get('/v1/approvals/events', { accept: 'text/event-stream' })
      const [first] = await readSseUntil(res, () => true)
      return (JSON.parse(first!.data) as { approvals: Approval[] }).approvals.map((a) => a.id)
    }
    expect(await inbox(alpha)).toEqual([approvalId])
    expect(await inbox(beta)).toEqual([])
    expect((await beta.get(`/v1/approvals/${approvalId}`)).status).toBe(404)
    expect((await beta.post(`/v1/approvals/${approvalId}`, { decision: 'accept' })).status).toBe(404)
    expect((await ops.post(`/v1/approvals/${approvalId}`, { decision: 'accept' })).status).toBe(404)
    expect((await alpha.get(`/v1/approvals/${approvalId}`)).status).toBe(200)

    for (const [c, other] of [
      [beta, alphaSession],
      [alpha, betaSession],
      [ops, alphaSession],
    ] as const) {
      const id = other.id
      expect((await c.get(`/v1/sessions/${id}`)).status).toBe(404)
      expect((await c.get(`/v1/sessions/${id}/events`, { accept: 'text/event-stream' })).status).toBe(404)
      expect((await c.post(`/v1/sessions/${id}/turns`, { input: 'hijack' })).status).toBe(404)
      expect((await c.post(`/v1/sessions/${id}/interrupt`)).status).toBe(404)
      expect((await c.post(`/v1/sessions/${id}/fork`)).status).toBe(404)
      expect((await c.post(`/v1/sessions/${id}/archive`)).status).toBe(404)
      expect((await c.get(`/v1/approvals?sessionId=${id}`)).status).toBe(200)
      expect(
        (await c.json<{ approvals: Approval[] }>(c.get(`/v1/approvals?sessionId=${id}`))).approvals,
      ).toEqual([])
      // Seed 003 names threads by codex's id: another tenant's thread is unknown too (app-server's error for a
      // thread it does not have, as the original answered it)
      const read = await c.post('/api/thread/read', { threadId: other.agentSessionId })
      expect(read.status).toBe(400)
      expect(await read.json()).toEqual({
        detail: { code: -32600, message: `thread not loaded: ${other.agentSessionId}` },
      })
    }
    const sessionIds = async (c: Client) =>
      (await c.json<{ sessions: Session[] }>(c.get('/v1/sessions'), 200)).sessions.map((s) => s.id)
    expect(await sessionIds(alpha)).toEqual([alphaSession.id])
    expect(await sessionIds(beta)).toEqual([betaSession.id])
    expect(await sessionIds(ops)).toEqual([])

    const decided = await alpha.json<Approval>(
      alpha.post(`/v1/approvals/${approvalId}`, { decision: 'accept' }),
      200,
    )
    expect(decided).toMatchObject({ state: 'resolved', by: 'alpha' })
    await alpha.until(
      `/v1/sessions/${alphaSession.id}/events`,
      (ev) => ev.type === 'turn.completed' && ev.turnId === turn.id,
    )
    // The agent's command ran in alpha's root, and nothing of it is in beta's or the server's workspace.
    expect(readFileSync(path.join(workspaceOf('team-a'), 'where.txt'), 'utf8').trim()).toBe(
      workspaceOf('team-a'),
    )
    expect(existsSync(path.join(workspaceOf('team-b'), 'where.txt'))).toBe(false)
    expect(existsSync(path.join(gw.workspace, 'where.txt'))).toBe(false)

    // beta's session works for beta: its turn runs in beta's root.
    mock.script({ kind: 'text', text: 'beta session answer' })
    const betaTurn = await beta.json<Turn>(
      beta.post(`/v1/sessions/${betaSession.id}/turns?wait=true`, { input: 'hello' }),
      200,
    )
    expect(betaTurn).toMatchObject({ status: 'completed', finalResponse: 'beta session answer' })
    // One app-server per tenant, each with the tenant's CODEX_HOME; each thread lives in its tenant's home.
    const homes = appServerHomes().filter((h) => h.startsWith(tenantsDir))
    expect(homes.sort()).toEqual([codexHomeOf('team-a'), codexHomeOf('team-b')])
    expect(homeKnowsThread(codexHomeOf('team-a'), alphaSession.agentSessionId)).toBe(true)
    expect(homeKnowsThread(codexHomeOf('team-b'), alphaSession.agentSessionId)).toBe(false)
    expect(homeKnowsThread(codexHomeOf('team-b'), betaSession.agentSessionId)).toBe(true)
    expect(homeKnowsThread(codexHomeOf('team-a'), betaSession.agentSessionId)).toBe(false)
  })

  it("/agent/ws: a tenant's stream session is its own; the other tenant cannot join it by its sessionId", async () => {
    const wsUrl = `${gw.url.replace(/^http/, 'ws')}/agent/ws`
    const sessionId = `tenant-stream-${process.pid}`
    mock.script({ kind: 'text', text: 'alpha over ws' })
    const a = wsClient(wsUrl, 'alpha-secret-1')
    await a.opened
    a.send({ type: 'user_message', sessionId, content: 'hi' })
    await a.next((f) => f.type === 'status' && f.message === 'Agent run completed.')
    const b = wsClient(wsUrl, 'beta-secret-2')
    await b.opened
    b.send({ type: 'user_message', sessionId, content: 'let me in' })
    const refused = await b.next((f) => f.type === 'error')
    expect(refused.message).toMatch(/is taken/)
    expect(b.frames.some((f) => f.type === 'item')).toBe(false)
    const alphaSessions = (await alpha.json<{ sessions: Session[] }>(alpha.get('/v1/sessions'), 200)).sessions
    expect(alphaSessions.find((s) => s.externalId === sessionId)).toMatchObject({ tenant: 'team-a' })
    const betaSessions = (await beta.json<{ sessions: Session[] }>(beta.get('/v1/sessions'), 200)).sessions
    expect(betaSessions.some((s) => s.externalId === sessionId)).toBe(false)
    a.ws.close()
    b.ws.close()
  })

  it("POST /v1/sessions externalId: unique across tenants; the other tenant's 409 names no session; the owner's stream continues it", async () => {
    const externalId = `tenant-http-${process.pid}`
    const made = await alpha.json<Session>(alpha.post('/v1/sessions', { externalId }), 201)
    expect(made).toMatchObject({ externalId, tenant: 'team-a' })
    // another tenant: refused, without a word about whose it is
    const refused = await beta.post('/v1/sessions', { externalId })
    expect(refused.status).toBe(409)
    const { error } = (await refused.json()) as { error: { message: string; details: unknown } }
    expect(error.message).toBe(`externalId "${externalId}" is taken by another session; choose another id`)
    expect(error.details).toEqual({ externalId })
    // its own tenant: told which session has it
    const again = await alpha.post('/v1/sessions', { externalId })
    expect(again.status).toBe(409)
    expect(((await again.json()) as { error: { details: unknown } }).error.details).toEqual({
      externalId,
      sessionId: made.id,
    })
    // the owner's stream naming it continues that session; the other tenant's stream cannot join it
    const wsUrl = `${gw.url.replace(/^http/, 'ws')}/agent/ws`
    const b = wsClient(wsUrl, 'beta-secret-2')
    await b.opened
    b.send({ type: 'user_message', sessionId: externalId, content: 'let me in' })
    expect((await b.next((f) => f.type === 'error')).message).toMatch(/is taken/)
    b.ws.close()
    mock.script({ kind: 'text', text: 'alpha continues over ws' })
    const a = wsClient(wsUrl, 'alpha-secret-1')
    await a.opened
    a.send({ type: 'user_message', sessionId: externalId, content: 'continue it' })
    await a.next((f) => f.type === 'status' && f.message === 'Agent run completed.')
    a.ws.close()
    const read = await alpha.json<Session & { turns: { input: { text: string }[] }[] }>(
      alpha.get(`/v1/sessions/${made.id}`),
      200,
    )
    expect(read.turns.map((t) => t.input[0]!.text)).toEqual(['continue it'])
  })
})
