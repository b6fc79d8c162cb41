import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Session } from '../../src/protocol/sessions.js'
import { agentLineChars } from '../../src/util/agent-line.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { sharedPostgres } from '../support/shared-postgres.js'

gatewayModules()

/** A data: URL of a PNG (by its first bytes) of `bytes` random bytes: its base64 does not shrink. */
const pngUrl = (bytes: number) =>
  `data:image/png;base64,${Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(bytes - 8)]).toString('base64')}`

/**
 * A codex thread whose history is longer than the 8 MiB line the gateway reads of an agent (two turns with a
 * 3.2 MiB image each, as in codex-long-history.test.ts), on node A of two gateway nodes on one PostgreSQL, used
 * through node B: B forwards what needs the agent to A (NodeCalls over node signals: a message too large for a
 * NOTIFY waits in a row of node_signals) and relays A's answer. The turn with its image, and seed 003's
 * thread/read, resume and fork with the whole history (about 9 MiB answers), pass through. Real codex, real
 * PostgreSQL, two nodes in-process.
 */
describe('a codex history longer than 8 MiB across two nodes (PostgreSQL)', { timeout: 180_000 }, () => {
  const pg = sharedPostgres()
  let mock: MockLlm
  let a: TestGateway
  let b: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    const url = await pg.createDatabase()
    const env = { DATABASE_URL: url, BODY_LIMIT_BYTES: String(16 * 1024 * 1024) }
    a = await startGateway(mock, env)
    b = await startGateway(mock, { ...env, WORKSPACE_DIR: a.workspace, CODEX_HOME: a.env.CODEX_HOME })
  }, 60_000)
  afterAll(async () => {
    await b?.close()
    await a?.close()
    await mock?.close()
  })

  const post = async (url: string, path: string, body: unknown) => {
    const res = await postJson(`${url}${path}`, body)
    // biome-ignore lint/suspicious/noExplicitAny: the test walks app-server's records
    return { status: res.status, body: (await res.json()) as Record<string, any> }
  }
  const imagesOf = (thread: {
    turns: { items: { type: string; content?: { type: string; url?: string }[] }[] }[]
  }) =>
    thread.turns.flatMap((t) =>
      t.items.flatMap((item) => (item.content ?? []).filter((c) => c.type === 'image').map((c) => c.url)),
    )

  it("node B relays node A's turns and answers with the whole history", async () => {
    const created = await postJson(`${a.url}/v1/sessions`, {})
    const session = (await created.json()) as Session
    expect(created.status, JSON.stringify(session)).toBe(201)
    const images = [pngUrl(3.2 * 1024 * 1024), pngUrl(3.2 * 1024 * 1024)]
    // the first turn on A, the second through B (its 4.3 MiB of input forwarded to A)
    for (const [i, url] of images.entries()) {
      mock.script({ kind: 'text', text: `seen ${i}` })
      const res = await postJson(`${(i === 0 ? a : b).url}/v1/sessions/${session.id}/turns?wait=true`, {
        input: [
          { type: 'text', text: `look at image ${i}` },
          { type: 'image', url },
        ],
      })
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ status: 'completed', finalResponse: `seen ${i}` })
    }
    expect(images.join('').length).toBeGreaterThan(agentLineChars)
    expect(await a.ctx.store.ownerOf(session.id)).toBe(a.ctx.node.id)
    const { agentSessionId: threadId } = (await (
      await fetch(`${b.url}/v1/sessions/${session.id}`)
    ).json()) as Session

    // B reads, resumes and forks A's thread: each answer holds the history (about 9 MiB), from A
    const read = await post(b.url, '/api/thread/read', { threadId, includeTurns: true })
    expect(read.status, JSON.stringify(read.body).slice(0, 500)).toBe(200)
    expect(imagesOf(read.body.thread as never)).toEqual(images)
    const resumed = await post(b.url, '/api/thread/resume', { threadId })
    expect(resumed.status, JSON.stringify(resumed.body).slice(0, 500)).toBe(200)
    expect(imagesOf(resumed.body.thread as never)).toEqual(images)
    const forked = await post(b.url, '/api/thread/fork', { threadId })
    expect(forked.status, JSON.stringify(forked.body).slice(0, 500)).toBe(200)
    expect(forked.body.thread.id).not.toBe(threadId)
    expect(imagesOf(forked.body.thread as never)).toEqual(images)
    // the fork lives on A with its parent (codex forks the thread it holds)
    const fork = await b.ctx.store.listSessions({ limit: 100 })
    const forkSession = fork.find((s) => s.agentSessionId === forked.body.thread.id)
    expect(forkSession && (await a.ctx.store.ownerOf(forkSession.id))).toBe(a.ctx.node.id)
  })
})
