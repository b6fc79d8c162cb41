import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer } from '../../src/http/server.js'
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
 * thread/read, resume and fork with the whole history (about 9 MiB answers), pass through. Then both nodes again,
 * A reading at most 8 MiB of history (CODEX_HISTORY_MAX_BYTES): a fork through B is made on A, and B answers A's
 * 500 that names the new fork (the error's details cross the nodes), which goes on through B. Real codex, real
 * PostgreSQL, two nodes in-process.
 */
describe('a codex history longer than 8 MiB across two nodes (PostgreSQL)', { timeout: 180_000 }, () => {
  const pg = sharedPostgres()
  let mock: MockLlm
  let a: TestGateway
  let b: TestGateway
  /** Node A again, restarted to read no more than 8 MiB of history (its least), then B again. */
  let lowA: Awaited<ReturnType<typeof startServer>> | undefined
  let againB: Awaited<ReturnType<typeof startServer>> | undefined
  /** The gateways the test closed itself (the second test restarts both nodes). */
  const closed = new Set<unknown>()
  const close = async (gw: { close(): Promise<void> } | undefined) => {
    if (gw && !closed.has(gw)) await gw.close()
    closed.add(gw)
  }
  /** The thread the first test made on A, with its history of about 9 MiB. */
  let threadId: string | undefined
  beforeAll(async () => {
    mock = await startMockLlm()
    const url = await pg.createDatabase()
    const env = { DATABASE_URL: url, BODY_LIMIT_BYTES: String(16 * 1024 * 1024) }
    a = await startGateway(mock, env)
    b = await startGateway(mock, { ...env, WORKSPACE_DIR: a.workspace, CODEX_HOME: a.env.CODEX_HOME })
  }, 60_000)
  afterAll(async () => {
    await close(againB)
    await close(b)
    await close(lowA)
    await close(a)
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
    ;({ agentSessionId: threadId } = (await (
      await fetch(`${b.url}/v1/sessions/${session.id}`)
    ).json()) as Session)

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

  it("a fork through B past the owner's limit answers 500 naming the fork, which is there to use", async () => {
    expect(threadId).toBeDefined()
    // A again, reading no more than 8 MiB of history, alone: it takes the thread over from the A that stopped as it
    // runs a turn there (a turn resumes it without its turns; with B up, B's check might have taken it first)
    await close(b)
    await close(a)
    lowA = await startServer({
      env: { ...a.env, CODEX_HISTORY_MAX_BYTES: String(agentLineChars) },
      cwd: a.dir,
      logger: false,
    })
    mock.script({ kind: 'text', text: 'on the restarted node' })
    const turn = await post(lowA.url, '/api/turn/start', {
      threadId,
      input: [{ type: 'text', text: 'and now?' }],
    })
    expect(turn.status, JSON.stringify(turn.body).slice(0, 500)).toBe(200)
    const sessions = await lowA.ctx.store.listSessions({ limit: 100 })
    const session = sessions.find((s) => s.agentSessionId === threadId)
    expect(session && (await lowA.ctx.store.ownerOf(session.id))).toBe(lowA.ctx.node.id)
    againB = await startServer({ env: b.env, cwd: b.dir, logger: false })

    // B forks it: made on A (which holds the thread), whose answer with the fork's turns is past A's limit; B's 500
    // names the fork, as a single node's does
    const refused = await post(againB.url, '/api/thread/fork', { threadId })
    expect(refused.status, JSON.stringify(refused.body).slice(0, 500)).toBe(500)
    const [, parent, fork] =
      /^thread (\S+) was forked as thread (\S+), but its history is longer than the gateway reads \(codex app-server answered thread\/read with more than 8388608 characters on one line\): raise CODEX_HISTORY_MAX_BYTES/.exec(
        refused.body.detail as string,
      ) ?? []
    expect(parent).toBe(threadId)
    expect(fork).not.toBe(threadId)
    // the fork lives on A: the 500 came from A's read of it, across the nodes
    const forkSession = (await lowA.ctx.store.listSessions({ limit: 100 })).find(
      (s) => s.agentSessionId === fork,
    )
    expect(forkSession && (await lowA.ctx.store.ownerOf(forkSession.id))).toBe(lowA.ctx.node.id)
    // the fork goes on through B
    mock.script({ kind: 'text', text: 'in the fork' })
    const forkTurn = await post(againB.url, '/api/turn/start', {
      threadId: fork,
      input: [{ type: 'text', text: 'go on' }],
    })
    expect(forkTurn.status, JSON.stringify(forkTurn.body).slice(0, 500)).toBe(200)
    expect(forkTurn.body.turn).toMatchObject({ status: 'completed', error: null })
  })
})
