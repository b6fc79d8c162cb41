import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { PostgresStore } from '../../src/store/postgres/postgres-store.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { wsClient } from '../support/agent-ws-client.js'
import { apiClient } from '../support/api-client.js'
import { homeKnowsThread } from '../support/codex-home.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { dataUrlOf, onePixelPng as png } from '../support/png.js'
import { sharedPostgres } from '../support/shared-postgres.js'
import { tempDir } from '../support/temp.js'

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

gatewayModules()

/**
 * Issues 13 and 15 together: an API node and a worker (GATEWAY_ROLE api / worker, real codex, one PostgreSQL,
 * one TENANTS_DIR). What a tenant sends to the API node runs on the worker in the tenant's scope (its workspace
 * root, its CODEX_HOME, its view of the store), and another tenant's calls forwarded to the worker find nothing.
 */
describe("tenants in a cluster: a tenant's runs and sessions go from an API node to a worker", () => {
  const pg = sharedPostgres()
  let mock: MockLlm
  let api: TestGateway
  let worker: TestGateway
  let tenantsDir: string
  let alpha: ReturnType<typeof apiClient>
  let beta: ReturnType<typeof apiClient>

  beforeAll(async () => {
    mock = await startMockLlm()
    tenantsDir = tempDir('tenants-')
    const shared = {
      DATABASE_URL: await pg.createDatabase(),
      TENANTS_DIR: tenantsDir,
      API_TOKENS: 'alpha:alpha-secret-1:read+run+approve:team-a,beta:beta-secret-2:read+run+approve:team-b',
      NODE_TIMEOUT_SECONDS: '10',
    }
    api = await startGateway(mock, { ...shared, GATEWAY_ROLE: 'api' })
    // The worker shares the API node's workspace and server CODEX_HOME, as nodes share volumes.
    worker = await startGateway(mock, {
      ...shared,
      GATEWAY_ROLE: 'worker',
      WORKSPACE_DIR: api.workspace,
      CODEX_HOME: api.env.CODEX_HOME,
    })
    alpha = apiClient(api.url, 'alpha-secret-1')
    beta = apiClient(api.url, 'beta-secret-2')
  }, 60_000)
  afterAll(async () => {
    await api?.close()
    await worker?.close()
    await mock?.close()
  })

  const workspaceOf = (tenant: string) => realpathSync(path.join(tenantsDir, tenant, 'workspace'))
  const codexHomeOf = (tenant: string) => path.join(tenantsDir, tenant, 'home', '.codex')

  it("a tenant's run queued on the API node runs on the worker, with the tenant's agents in its workspace", async () => {
    mock.reset()
    mock.script({ kind: 'text', text: 'alpha on the worker' })
    const run = await alpha.json<Run>(alpha.post('/v1/runs?wait=true', { prompt: 'alpha run' }), 200)
    expect(run).toMatchObject({ status: 'succeeded', tenant: 'team-a', finalResponse: 'alpha on the worker' })
    expect(run.request.cwd).toBe(workspaceOf('team-a'))
    expect(await worker.ctx.store.ownerOf(run.id)).toBe(worker.ctx.node.id)
    // The worker ran codex with the tenant's CODEX_HOME (its own agents), not the server's.
    expect(homeKnowsThread(codexHomeOf('team-a'), run.agentSessionId!)).toBe(true)
    expect(homeKnowsThread(api.env.CODEX_HOME!, run.agentSessionId!)).toBe(false)
    // The worker counts it in the tenant's scope.
    expect(worker.ctx.tenancy.all().map((s) => s.tenant)).toContain('team-a')
    expect((await beta.get(`/v1/runs/${run.id}`)).status).toBe(404)
    expect((await beta.post(`/v1/runs/${run.id}/cancel`)).status).toBe(404)
  })

  it("images of a tenant's seed 002 run sent to the API node reach codex on the worker: read from the shared workspace, copied on the worker", async () => {
    // An image is a workspace path: the API node checks it inside the tenant's root when it admits the run (seed
    // 002's route, /v1's alike: run-admission.ts); the worker copies it when the run starts (core/staged-images.ts),
    // from the workspace every node shares, into its own DATA_DIR/run-images, beside the codex that reads the copy.
    mock.reset()
    // the tenant's scope (its workspace made) on the API node, as its first request makes it
    await alpha.json(alpha.get('/v1/runs'), 200)
    mkdirSync(path.join(workspaceOf('team-a'), 'pics'), { recursive: true })
    writeFileSync(path.join(workspaceOf('team-a'), 'pics', 'dot.png'), png)
    mock.script({ kind: 'text', text: 'a dot' })
    const res = await alpha.post('/api/codex/run', {
      prompt: 'what is in the picture?',
      working_directory: 'pics',
      images: ['dot.png'],
    })
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect((JSON.parse(text) as { final_response: string }).final_response).toBe('a dot')
    const run = (await alpha.json<{ runs: Run[] }>(alpha.get('/v1/runs'), 200)).runs.find(
      (r) => r.origin === 'POST /api/codex/run',
    )!
    expect(run.request.images).toEqual([path.join(workspaceOf('team-a'), 'pics', 'dot.png')])
    expect(await worker.ctx.store.ownerOf(run.id)).toBe(worker.ctx.node.id)
    expect(JSON.stringify(mock.requests.at(-1)?.body)).toContain(dataUrlOf(png))
    // copied on the worker and gone once the run ended; nothing was staged on the API node
    expect(readdirSync(path.join(worker.env.DATA_DIR!, 'run-images'))).toEqual([])
    expect(existsSync(path.join(api.env.DATA_DIR!, 'run-images'))).toBe(false)
  })

  it("a tenant's session made through the API node with an Idempotency-Key: the worker opens it under the key's id, so a retry gets it again", async () => {
    const create = () =>
      postJson(
        `${api.url}/v1/sessions`,
        {},
        { authorization: 'Bearer alpha-secret-1', 'idempotency-key': 'c-1' },
      )
    const made = await create()
    expect(made.status).toBe(201)
    const session = (await made.json()) as Session
    expect(await worker.ctx.store.ownerOf(session.id)).toBe(worker.ctx.node.id)
    // before the id went along, the worker opened it under an id of its own: the retry found no session under
    // the key's and answered 409 (in use) for 30 s, then opened a second one
    const again = await create()
    expect(again.status).toBe(200)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(((await again.json()) as Session).id).toBe(session.id)
  })

  it("a tenant's turn sent to the API node with an Idempotency-Key: the worker starts it under the key's id, so a retry gets it again", async () => {
    const session = await alpha.json<Session>(alpha.post('/v1/sessions', {}), 201)
    const send = (query = '', extra: object = {}) =>
      postJson(
        `${api.url}/v1/sessions/${session.id}/turns${query}`,
        { input: 'once only', ...extra },
        { authorization: 'Bearer alpha-secret-1', 'idempotency-key': 'ct-1' },
      )
    const made = await send('?wait=true')
    expect(made.status).toBe(200)
    const turn = (await made.json()) as Turn
    expect(turn.status).toBe('completed')
    // the key's id went along (session.turnWith, needs [turnId]): before, the worker started the turn under an id
    // of its own, and the retry found no turn under the key's (409, in use, for 30 s; then a second turn)
    const again = await send()
    expect(again.status).toBe(200)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(((await again.json()) as Turn).id).toBe(turn.id)
    const steer = await send('', { onBusy: 'steer' })
    expect(steer.status).toBe(400)
    const after = await alpha.json<Session & { turns: Turn[] }>(alpha.get(`/v1/sessions/${session.id}`), 200)
    expect(after.turns.map((t) => t.id)).toEqual([turn.id])
  })

  it("images of a tenant's /v1 session turn sent to the API node reach codex on the worker: checked and copied there, the copies gone once it ended", async () => {
    // The API node forwards the turn (session.turnWith: it has image items) to the worker that holds the session,
    // which confines the localImage to the tenant's root relative to the session's cwd, copies it beside its codex
    // and passes the data: URL on as it is.
    mock.reset()
    await alpha.json(alpha.get('/v1/runs'), 200)
    mkdirSync(path.join(workspaceOf('team-a'), 'pics'), { recursive: true })
    writeFileSync(path.join(workspaceOf('team-a'), 'pics', 'dot.png'), png)
    const session = await alpha.json<Session>(alpha.post('/v1/sessions', { cwd: 'pics' }), 201)
    expect(await worker.ctx.store.ownerOf(session.id)).toBe(worker.ctx.node.id)
    const input = [
      { type: 'text', text: 'and these?' },
      { type: 'localImage', path: 'dot.png' },
      { type: 'image', url: dataUrlOf(png) },
    ]
    // outside the tenant's root: refused by the worker (400), nothing stored or sent
    const outside = await alpha.post(`/v1/sessions/${session.id}/turns`, {
      input: [{ type: 'localImage', path: '../../../team-b/workspace/x.png' }],
    })
    expect(outside.status, await outside.text()).toBe(400)
    mock.script({ kind: 'text', text: 'two dots' })
    const turn = await alpha.json<Turn>(
      alpha.post(`/v1/sessions/${session.id}/turns?wait=true`, { input }),
      200,
    )
    expect(turn).toMatchObject({ status: 'completed', finalResponse: 'two dots', input })
    expect(mock.requests).toHaveLength(1)
    const sent = JSON.stringify(mock.requests[0]?.body)
    expect(sent.split(dataUrlOf(png)).length - 1).toBe(2)
    // copied on the worker (its codex read the copy) and gone once the turn ended; nothing staged on the API node
    expect(readdirSync(path.join(worker.env.DATA_DIR!, 'run-images'))).toEqual([])
    expect(existsSync(path.join(api.env.DATA_DIR!, 'run-images'))).toBe(false)
  })

  it("a tenant's session lives on the worker; the other tenant's calls, forwarded there too, find nothing", async () => {
    mock.reset()
    const session = await alpha.json<Session>(alpha.post('/v1/sessions', {}), 201)
    expect(session).toMatchObject({ tenant: 'team-a', cwd: workspaceOf('team-a') })
    expect(await worker.ctx.store.ownerOf(session.id)).toBe(worker.ctx.node.id)
    mock.script({ kind: 'text', text: 'alpha session answer' })
    const turn = await alpha.json<Turn>(
      alpha.post(`/v1/sessions/${session.id}/turns?wait=true`, { input: 'hello' }),
      200,
    )
    expect(turn).toMatchObject({ status: 'completed', finalResponse: 'alpha session answer' })
    expect(homeKnowsThread(codexHomeOf('team-a'), session.agentSessionId)).toBe(true)
    expect(homeKnowsThread(api.env.CODEX_HOME!, session.agentSessionId)).toBe(false)
    // Beta's calls reach the worker in beta's scope, where alpha's session does not exist.
    const asBeta = [
      beta.post(`/v1/sessions/${session.id}/turns`, { input: 'let me in' }),
      beta.post(`/v1/sessions/${session.id}/interrupt`),
      beta.post(`/v1/sessions/${session.id}/fork`),
      beta.post(`/v1/sessions/${session.id}/archive`),
      beta.get(`/v1/sessions/${session.id}`),
    ]
    for (const res of await Promise.all(asBeta)) expect(res.status, await res.text()).toBe(404)
    const after = await alpha.json<Session & { turns: Turn[] }>(alpha.get(`/v1/sessions/${session.id}`), 200)
    expect(after).toMatchObject({ status: 'idle', turnCount: 1 })
    expect(mock.requests.length).toBe(1)
  })

  it('a session made with an externalId on the API node keeps it on the worker; a second is 409 also across the node call', async () => {
    const externalId = `cluster-external-${process.pid}`
    const made = await alpha.json<Session>(alpha.post('/v1/sessions', { externalId }), 201)
    expect(made).toMatchObject({ externalId, tenant: 'team-a' })
    expect(await worker.ctx.store.ownerOf(made.id)).toBe(worker.ctx.node.id)
    // the other tenant: 409, not told whose
    const refused = await beta.post('/v1/sessions', { externalId })
    expect(refused.status).toBe(409)
    expect(await refused.text()).not.toContain(made.id)
    // the API node's lookups passed (they raced the first creation): the worker's insert is refused, and its
    // 409 comes back through the node call
    const lookup = vi
      .spyOn(PostgresStore.prototype, 'findSessionByExternalId')
      .mockResolvedValueOnce(undefined)
      .mockResolvedValueOnce(undefined)
    try {
      const raced = await alpha.post('/v1/sessions', { externalId })
      const body = await raced.text()
      expect(raced.status, body).toBe(409)
      expect(JSON.parse(body)).toMatchObject({ error: { code: 'conflict', details: { externalId } } })
    } finally {
      lookup.mockRestore()
    }
    const listed = (await alpha.json<{ sessions: Session[] }>(alpha.get('/v1/sessions'), 200)).sessions
    expect(listed.filter((s) => s.externalId === externalId).map((s) => s.id)).toEqual([made.id])
  })

  it("a tenant's approval asked by its agent on the worker is answered through the API node; not by another tenant", async () => {
    mock.reset()
    const session = await alpha.json<Session>(
      alpha.post('/v1/sessions', { approvalPolicy: 'untrusted', sandbox: 'workspace-write' }),
      201,
    )
    mock.script({ kind: 'exec_command', cmd: 'echo yes > approved.txt' }, { kind: 'text', text: 'wrote it' })
    const turn = await alpha.json<Turn>(
      alpha.post(`/v1/sessions/${session.id}/turns`, { input: 'write it' }),
      202,
    )
    const seen = await alpha.until(
      `/v1/sessions/${session.id}/events`,
      (ev) => ev.type === 'approval.requested',
    )
    const { approvalId } = seen.at(-1) as StoredEvent & { approvalId: string }
    expect((await beta.post(`/v1/approvals/${approvalId}`, { decision: 'decline' })).status).toBe(404)
    expect((await alpha.post(`/v1/approvals/${approvalId}`, { decision: 'accept' })).status).toBe(200)
    await alpha.until(
      `/v1/sessions/${session.id}/events`,
      (ev) => ev.type === 'turn.completed' && (ev as { turnId?: string }).turnId === turn.id,
    )
    const done = await alpha.json<Session & { turns: Turn[] }>(alpha.get(`/v1/sessions/${session.id}`), 200)
    expect(done.turns.find((t) => t.id === turn.id)).toMatchObject({
      status: 'completed',
      finalResponse: 'wrote it',
    })
    expect(readFileSync(path.join(workspaceOf('team-a'), 'approved.txt'), 'utf8')).toBe('yes\n')
  })

  it('/agent/ws on the API node steers the turn running on the worker: a second message interrupts the first', async () => {
    mock.reset()
    mock.script(
      { kind: 'text', text: 'first never arrives', delayMs: 30_000 },
      { kind: 'text', text: 'second answer' },
    )
    const c = wsClient(`${api.url.replace(/^http/, 'ws')}/agent/ws`, 'alpha-secret-1')
    await c.opened
    const sessionId = `cluster-stream-${process.pid}`
    c.send({ type: 'user_message', sessionId, content: 'first, slow' })
    await c.next((f) => f.type === 'status' && f.message === 'Agent thinking...')
    await waitFor(() => mock.requests.length > 0, 'the first turn to reach the model')
    c.send({ type: 'user_message', sessionId, content: 'second, fast' })
    await c.next((f) => f.type === 'status' && f.message === 'Agent run interrupted.')
    await c.next((f) => f.type === 'status' && f.message === 'Agent run completed.')
    const session = (await alpha.json<{ sessions: Session[] }>(alpha.get('/v1/sessions'), 200)).sessions.find(
      (s) => s.externalId === sessionId,
    )!
    expect(session).toMatchObject({ tenant: 'team-a' })
    expect(await worker.ctx.store.ownerOf(session.id)).toBe(worker.ctx.node.id)
    const closed = new Promise((resolve) => c.ws.once('close', resolve))
    c.ws.close()
    await closed
  })
})
