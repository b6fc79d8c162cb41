import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { sharedPostgres } from '../support/shared-postgres.js'

const server = sharedPostgres()

gatewayModules()

interface ErrorBody {
  error: { code: string; message: string; details?: { reason?: string; runId?: string } }
}

const body = (script: string) => ({ agent: 'cli', command: { cli: 'sh', args: ['-c', script] } })

/**
 * POST /v1/runs with an Idempotency-Key, over real sockets, on SQLite and on PostgreSQL (there with two nodes on one
 * database: a retry that reaches the other node gets the same run). The same key and body answer the first run
 * again (200, `idempotent-replayed: true`) and make none; another body is a 409 naming the first run; a first
 * request refused (400) does not keep the key; a malformed key is a 400. Before, every retry made another run.
 */
describe.each(['sqlite', 'postgres'] as const)('POST /v1/runs with an Idempotency-Key (%s)', (store) => {
  let first: TestGateway
  let second: TestGateway
  beforeAll(async () => {
    const env: Record<string, string> = { CLI_LIST: 'sh' }
    if (store === 'postgres') env.DATABASE_URL = await server.createStoreDatabase()
    first = await startGateway(null, env)
    second =
      store === 'postgres' ? await startGateway(null, { ...env, WORKSPACE_DIR: first.workspace }) : first
  })
  afterAll(async () => {
    if (second !== first) await second?.close()
    await first?.close()
  })

  const runCount = async () => {
    const res = await fetch(`${first.url}/v1/runs?limit=100`)
    return ((await res.json()) as { runs: Run[] }).runs.length
  }

  it('answers the first run again for the same key and body, on any node; 409 for another body', async () => {
    const before = await runCount()
    const made = await postJson(`${first.url}/v1/runs`, body('echo once'), { 'idempotency-key': 'k-1' })
    expect(made.status).toBe(202)
    expect(made.headers.get('idempotent-replayed')).toBeNull()
    const run = (await made.json()) as Run

    // the retry, on the other node where there are two: the same run, none made (before: a second run, 202)
    const again = await postJson(`${second.url}/v1/runs`, body('echo once'), { 'idempotency-key': 'k-1' })
    expect(again.status).toBe(200)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.headers.get('location')).toBe(`/v1/runs/${run.id}`)
    expect(((await again.json()) as Run).id).toBe(run.id)
    // waited for as asked
    const waited = await postJson(`${second.url}/v1/runs?wait=true`, body('echo once'), {
      'idempotency-key': 'k-1',
    })
    expect(waited.status).toBe(200)
    expect((await waited.json()) as Run).toMatchObject({ id: run.id, status: 'succeeded' })
    expect(await runCount()).toBe(before + 1)

    // the same key with another body: refused, naming the first run
    const other = await postJson(`${first.url}/v1/runs`, body('echo other'), { 'idempotency-key': 'k-1' })
    expect(other.status).toBe(409)
    const err = (await other.json()) as ErrorBody
    expect(err.error).toMatchObject({
      code: 'conflict',
      details: { reason: 'idempotency_key_reused', runId: run.id },
    })
    expect(err.error.message).toMatch(/Idempotency-Key 'k-1' was used for another request .* use a new key/)
    // another key is another run
    const fresh = await postJson(`${first.url}/v1/runs`, body('echo once'), { 'idempotency-key': 'k-2' })
    expect(fresh.status).toBe(202)
    expect(((await fresh.json()) as Run).id).not.toBe(run.id)
    expect(await runCount()).toBe(before + 2)
  })

  it('does not keep the key of a refused request; refuses a malformed key', async () => {
    const refused = await postJson(
      `${first.url}/v1/runs`,
      { agent: 'cli', command: { cli: 'not-listed', args: [] } },
      { 'idempotency-key': 'k-3' },
    )
    expect(refused.status).toBe(400)
    const made = await postJson(`${second.url}/v1/runs`, body('true'), { 'idempotency-key': 'k-3' })
    expect(made.status).toBe(202)

    const long = await postJson(`${first.url}/v1/runs`, body('true'), { 'idempotency-key': 'x'.repeat(256) })
    expect(long.status).toBe(400)
    expect(((await long.json()) as ErrorBody).error.message).toMatch(/Idempotency-Key must be 1 to 255/)
  })
})
