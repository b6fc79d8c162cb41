import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { apiClient } from '../support/api-client.js'
import { gatewayModules, startGateway, type TestGateway } from '../support/gateway.js'
import { parsePrometheus, sample } from '../support/prometheus.js'
import { tempDir } from '../support/temp.js'
import {
  type ReceivedWebhook,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../support/webhook-receiver.js'

const secret = `whsec_${randomBytes(32).toString('base64')}`
const verifier = new Webhook(secret)

interface Payload {
  type: string
  timestamp: string
  data: StoredEvent
}

/** Verifies the Standard Webhooks signature with the reference library and returns the parsed payload. */
function verified(r: ReceivedWebhook): Payload {
  return verifier.verify(r.body, r.headers as Record<string, string>) as Payload
}

const idOf = (r: ReceivedWebhook) => String(r.headers['webhook-id'])

gatewayModules()

describe('webhooks', () => {
  let mock: MockLlm
  let receiver: WebhookReceiver
  const gateways: TestGateway[] = []
  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterEach(async () => {
    for (const gw of gateways.splice(0)) await gw.close()
    await receiver?.close()
    mock.reset()
  })
  afterAll(async () => {
    await mock?.close()
  })

  const gateway = async (overrides: Record<string, string> = {}) => {
    const gw = await startGateway(mock, {
      WEBHOOK_SECRET: secret,
      WEBHOOK_RETRY_BASE_MS: '50',
      ...overrides,
    })
    gateways.push(gw)
    return gw
  }

  it('run.completed reaches the run webhook signed; after two failures it is retried under the same webhook-id', async () => {
    receiver = await startWebhookReceiver()
    receiver.respond(500, 503)
    const gw = await gateway({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' })
    const api = apiClient(gw.url)
    mock.script({ kind: 'text', text: 'hooked' })
    const run = await api.json<Run>(
      api.post('/v1/runs?wait=true', { prompt: 'hook me', webhook: { url: receiver.url } }),
      200,
    )
    expect(run.request.webhook).toEqual({ url: receiver.url })
    const all = await receiver.waitFor((r) => r.some((x) => x.status === 200))
    expect(all.map((r) => r.status)).toEqual([500, 503, 200])
    expect(new Set(all.map(idOf)).size).toBe(1)
    for (const r of all) {
      const payload = verified(r)
      expect(payload).toMatchObject({ type: 'run.completed', data: { type: 'run.completed', runId: run.id } })
      expect(payload.data).toMatchObject({ status: 'succeeded', finalResponse: 'hooked' })
    }
    const metrics = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text())
    expect(
      sample(metrics, 'agent_gateway_webhook_deliveries_total', {
        event: 'run.completed',
        outcome: 'failed_attempt',
      }),
    ).toBe(2)
    expect(
      sample(metrics, 'agent_gateway_webhook_deliveries_total', {
        event: 'run.completed',
        outcome: 'delivered',
      }),
    ).toBe(1)
    // A tampered body does not verify.
    expect(() => verifier.verify(`${all[2]!.body} `, all[2]!.headers as Record<string, string>)).toThrow()
  })

  it('a session webhook gets approval.requested, approval.resolved, turn.completed, turn.failed and session.idle, each once per id', async () => {
    receiver = await startWebhookReceiver()
    const gw = await gateway({ WEBHOOK_ALLOWED_HOSTS: 'localhost,127.0.0.1' })
    const api = apiClient(gw.url)
    const session = await api.json<Session>(
      api.post('/v1/sessions', {
        approvalPolicy: 'untrusted',
        sandbox: 'workspace-write',
        webhook: { url: receiver.url.replace('127.0.0.1', 'localhost') },
      }),
      201,
    )
    expect(session.webhook?.url).toContain('localhost')
    const [idle] = await receiver.waitFor((r) => r.some((x) => verified(x).type === 'session.idle'))
    expect(verified(idle!).data).toMatchObject({
      type: 'session.status',
      status: 'idle',
      sessionId: session.id,
      seq: 1,
    })
    mock.script({ kind: 'exec_command', cmd: 'echo hi > hooked.txt' }, { kind: 'text', text: 'done' })
    const turn = await api.json<Turn>(api.post(`/v1/sessions/${session.id}/turns`, { input: 'write' }))
    // (the creation's session.idle came first: the session's webhook is stored with it)
    const requested = (
      await receiver.waitFor((r) => r.some((x) => verified(x).type === 'approval.requested'))
    ).find((x) => verified(x).type === 'approval.requested')
    const approvalId = (verified(requested!).data as Extract<StoredEvent, { type: 'approval.requested' }>)
      .approvalId
    await api.json(api.post(`/v1/approvals/${approvalId}`, { decision: 'accept' }), 200)
    // Deliveries are independent (sent at once, in any order): a turn's end and the idle state it leads to are
    // stored together, so either may arrive first.
    const all = await receiver.waitFor(
      (r) =>
        r.some((x) => verified(x).type === 'session.idle') &&
        r.some((x) => verified(x).type === 'turn.completed'),
    )
    const types = all.map((r) => verified(r).type)
    expect(types).toEqual(
      expect.arrayContaining(['approval.requested', 'approval.resolved', 'turn.completed', 'session.idle']),
    )
    // Each delivery id arrives once (nothing failed, so nothing was retried) and each event once.
    expect(new Set(all.map(idOf)).size).toBe(all.length)
    for (const type of ['approval.requested', 'approval.resolved', 'turn.completed'])
      expect(types.filter((t) => t === type)).toHaveLength(1)
    const completed = verified(all.find((r) => verified(r).type === 'turn.completed')!)
    expect(completed.data).toMatchObject({ sessionId: session.id, turnId: turn.id })

    // A turn that fails sends turn.failed with its id and error (before, only session.idle told of its end).
    const body = JSON.stringify({ error: { message: 'mock says no', type: 'invalid_request_error' } })
    mock.script({ kind: 'http_error', status: 400, body })
    const failedTurn = await api.json<Turn>(
      api.post(`/v1/sessions/${session.id}/turns?wait=true`, { input: 'fail' }),
      200,
    )
    expect(failedTurn.status).toBe('failed')
    const after = await receiver.waitFor((r) => r.some((x) => verified(x).type === 'turn.failed'))
    const failed = after.map(verified).filter((p) => p.type === 'turn.failed')
    expect(failed).toHaveLength(1)
    expect(failed[0]!.data).toMatchObject({
      type: 'turn.failed',
      sessionId: session.id,
      turnId: failedTurn.id,
      error: failedTurn.error,
    })
    expect(failedTurn.error).toContain('mock says no')
    expect(after.filter((r) => verified(r).type === 'turn.completed')).toHaveLength(1)
  })

  it('a delivery pending when the gateway stops is delivered by the next start, under the same webhook-id', async () => {
    receiver = await startWebhookReceiver()
    // Fails until the first gateway is gone (its retry may come before it stops: that one fails too).
    receiver.respond(500, 500)
    const dataDir = path.join(tempDir('webhook-restart-'), 'data')
    const settings = {
      DATA_DIR: dataDir,
      WEBHOOK_URLS: receiver.url,
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_RETRY_BASE_MS: '2000',
    }
    const first = await gateway(settings)
    const api = apiClient(first.url)
    mock.script({ kind: 'text', text: 'before restart' })
    const run = await api.json<Run>(api.post('/v1/runs?wait=true', { prompt: 'restart' }), 200)
    const [failed] = await receiver.waitFor((r) => r.some((x) => x.status === 500))
    const deliveryId = idOf(failed!)
    await first.close()
    gateways.splice(gateways.indexOf(first), 1)
    const restartedAt = Date.now()

    await gateway(settings)
    const all = await receiver.waitFor((r) => r.some((x) => idOf(x) === deliveryId && x.status === 200))
    const attempts = all.filter((r) => idOf(r) === deliveryId)
    expect(attempts.at(-1)!.at).toBeGreaterThanOrEqual(restartedAt)
    expect(attempts.map((r) => r.status).slice(0, 1)).toEqual([500])
    expect(attempts.filter((r) => r.status === 200)).toHaveLength(1)
    for (const r of attempts) expect(verified(r).data).toMatchObject({ type: 'run.completed', runId: run.id })
    // The only delivery: one id for every attempt.
    expect(new Set(all.map(idOf))).toEqual(new Set([deliveryId]))
  })

  it('private, loopback and link-local targets are refused without WEBHOOK_ALLOWED_HOSTS', async () => {
    receiver = await startWebhookReceiver()
    const gw = await gateway({ WEBHOOK_URLS: receiver.url })
    const api = apiClient(gw.url)
    for (const url of [
      receiver.url,
      receiver.url.replace('127.0.0.1', 'localhost'),
      'http://10.1.2.3/hook',
      'http://192.168.1.10/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:9/hook',
    ]) {
      const res = await api.post('/v1/runs', { prompt: 'no', webhook: { url } })
      expect(res.status, url).toBe(400)
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        'WEBHOOK_ALLOWED_HOSTS',
      )
    }
    expect((await api.post('/v1/sessions', { webhook: { url: receiver.url } })).status).toBe(400)
    // WEBHOOK_URLS pointing at loopback: the delivery is refused at connect time, the receiver gets nothing.
    mock.script({ kind: 'text', text: 'unsent' })
    await api.json<Run>(api.post('/v1/runs?wait=true', { prompt: 'global hook' }), 200)
    const deadline = Date.now() + 10_000
    let refused = 0
    while (refused === 0 && Date.now() < deadline) {
      const metrics = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text())
      refused = sample(metrics, 'agent_gateway_webhook_deliveries_total', {
        event: 'run.completed',
        outcome: 'refused',
      })
      if (refused === 0) await new Promise((r) => setTimeout(r, 50))
    }
    expect(refused).toBe(1)
    expect(receiver.received).toHaveLength(0)
  })

  it('a webhook without WEBHOOK_SECRET is a 400', async () => {
    const gw = await startGateway(mock, { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' })
    gateways.push(gw)
    const res = await apiClient(gw.url).post('/v1/runs', {
      prompt: 'x',
      webhook: { url: 'http://127.0.0.1:9/h' },
    })
    expect(res.status).toBe(400)
  })

  it("signs a tenant's own webhook with that tenant's key: it verifies at no other tenant's receiver", async () => {
    const receivers = {
      alpha: await startWebhookReceiver(),
      beta: await startWebhookReceiver(),
      untenanted: await startWebhookReceiver(),
      operator: await startWebhookReceiver(),
    }
    try {
      const gw = await gateway({
        API_TOKENS:
          'ops:ops-token:admin,alpha:alpha-token:read+run:team-a,beta:beta-token:read+run:team-b,dash:dash-token:read',
        CLI_LIST: 'sh',
        WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
        WEBHOOK_URLS: receivers.operator.url,
      })
      const alpha = apiClient(gw.url, 'alpha-token')
      const beta = apiClient(gw.url, 'beta-token')
      const ops = apiClient(gw.url, 'ops-token')
      type Secret = { tenant: string; secret: string }
      // each tenant learns its own secret, and only its own; an operator names the tenant; WEBHOOK_SECRET is never served
      const alphaSecret = await alpha.json<Secret>(alpha.get('/v1/webhook-secret'), 200)
      const betaSecret = await beta.json<Secret>(beta.get('/v1/webhook-secret'), 200)
      expect(alphaSecret.tenant).toBe('team-a')
      expect(alphaSecret.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
      expect(new Set([alphaSecret.secret, betaSecret.secret, secret]).size).toBe(3)
      expect(await ops.json<Secret>(ops.get('/v1/webhook-secret?tenant=team-a'), 200)).toEqual(alphaSecret)
      expect((await alpha.get('/v1/webhook-secret?tenant=team-b')).status).toBe(403)
      expect((await ops.get('/v1/webhook-secret')).status).toBe(400)
      expect((await apiClient(gw.url, 'dash-token').get('/v1/webhook-secret?tenant=team-a')).status).toBe(403)

      const run = (client: ReturnType<typeof apiClient>, url: string) =>
        client.json<Run>(
          client.post('/v1/runs?wait=true', {
            agent: 'cli',
            command: { cli: 'sh', args: ['-c', 'true'] },
            webhook: { url },
          }),
          200,
        )
      const alphaRun = await run(alpha, receivers.alpha.url)
      await run(beta, receivers.beta.url)
      const opsRun = await run(ops, receivers.untenanted.url)
      const [alphaGot] = await receivers.alpha.waitFor((r) => r.length > 0)
      const [betaGot] = await receivers.beta.waitFor((r) => r.length > 0)
      const [untenantedGot] = await receivers.untenanted.waitFor((r) => r.length > 0)
      const operatorGot = await receivers.operator.waitFor((r) => r.length === 3)

      const headersOf = (r: ReceivedWebhook) => r.headers as Record<string, string>
      const alphaVerifier = new Webhook(alphaSecret.secret)
      const betaVerifier = new Webhook(betaSecret.secret)
      expect(alphaVerifier.verify(alphaGot!.body, headersOf(alphaGot!))).toMatchObject({
        type: 'run.completed',
        data: { runId: alphaRun.id },
      })
      expect(betaVerifier.verify(betaGot!.body, headersOf(betaGot!))).toMatchObject({ type: 'run.completed' })
      // alpha's delivery replayed at beta's receiver does not verify there, nor with the server's secret
      // (before, one WEBHOOK_SECRET signed every tenant's deliveries: it did)
      expect(() => betaVerifier.verify(alphaGot!.body, headersOf(alphaGot!))).toThrow()
      expect(() => verifier.verify(alphaGot!.body, headersOf(alphaGot!))).toThrow()
      expect(() => alphaVerifier.verify(betaGot!.body, headersOf(betaGot!))).toThrow()
      // untenanted runs' webhooks and the operator's WEBHOOK_URLS (every tenant's events) keep WEBHOOK_SECRET
      expect(verified(untenantedGot!).data).toMatchObject({ runId: opsRun.id })
      expect(operatorGot.map((r) => verified(r).type)).toEqual([
        'run.completed',
        'run.completed',
        'run.completed',
      ])
      expect(() => alphaVerifier.verify(operatorGot[0]!.body, headersOf(operatorGot[0]!))).toThrow()
    } finally {
      for (const r of Object.values(receivers)) await r.close()
    }
  })
})
