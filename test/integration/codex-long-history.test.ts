import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer } from '../../src/http/server.js'
import type { Session } from '../../src/protocol/sessions.js'
import { agentLineChars } from '../../src/util/agent-line.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, requestInput, startGateway, type TestGateway } from '../support/gateway.js'
import { idleUnloaded } from '../support/idle-unload.js'

gatewayModules()

/** A data: URL of a PNG (by its first bytes) of `bytes` random bytes: its base64 does not shrink. */
const pngUrl = (bytes: number) =>
  `data:image/png;base64,${Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(bytes - 8)]).toString('base64')}`

/**
 * A codex session whose history is longer than the 8 MiB line the gateway reads of an agent (two turns with a
 * 3.2 MiB image each, which codex keeps as data: URLs: about 9 MiB of turns), unloaded while idle and used again,
 * then after a restart. Its next turn resumes the thread without its turns (`excludeTurns`); seed 003's routes
 * answer with the turns (thread/read with includeTurns: one line of about 9 MiB). Read up to
 * CODEX_HISTORY_MAX_BYTES, they answer at once, and past it they fail at once, saying so; the line cut at 8 MiB
 * left each request to time out (CODEX_REQUEST_TIMEOUT, then a 500, or turn/start's 504 for a completed turn).
 * A fork past it is made all the same, and its 500 names the fork (which then runs turns with its parent's
 * history) rather than leave a client to fork again.
 * The real codex app-server against the mock model; two gateways one after the other, a codex each.
 */
describe('a codex session with a history longer than 8 MiB', { timeout: 180_000 }, () => {
  let mock: MockLlm
  let gw: TestGateway | undefined
  let restarted: Awaited<ReturnType<typeof startServer>> | undefined
  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterAll(async () => {
    await restarted?.close()
    await gw?.close()
    await mock?.close()
  })

  const post = async (path: string, body: unknown, url = gw!.url) => {
    const res = await postJson(`${url}${path}`, body)
    // biome-ignore lint/suspicious/noExplicitAny: the test walks app-server's records
    return { status: res.status, body: (await res.json()) as Record<string, any> }
  }

  it('resumes it for the next turn, and answers its turns whole (seed 003)', async () => {
    gw = await startGateway(mock, {
      SESSION_IDLE_SECONDS: '1',
      BODY_LIMIT_BYTES: String(16 * 1024 * 1024),
      // the old code's requests waited this long for the answer it had dropped
      CODEX_REQUEST_TIMEOUT: '30',
    })
    const created = await postJson(`${gw.url}/v1/sessions`, {})
    const session = (await created.json()) as Session
    expect(created.status, JSON.stringify(session)).toBe(201)
    const images = [pngUrl(3.2 * 1024 * 1024), pngUrl(3.2 * 1024 * 1024)]
    for (const [i, url] of images.entries()) {
      mock.script({ kind: 'text', text: `seen ${i}` })
      const res = await postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, {
        input: [
          { type: 'text', text: `look at image ${i}` },
          { type: 'image', url },
        ],
      })
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ status: 'completed', finalResponse: `seen ${i}` })
    }
    expect(images.join('').length).toBeGreaterThan(agentLineChars)
    // codex's thread, as the session names it once it ran a turn
    const { agentSessionId: threadId } = (await (
      await fetch(`${gw.url}/v1/sessions/${session.id}`)
    ).json()) as Session

    // let go while idle: the next turn resumes the thread, here through seed 003's turn/start, whose answer
    // lists codex's own items of the turn (read with the thread's turns)
    const unloaded = await idleUnloaded(gw!.ctx.sessions, session.id)
    expect(unloaded, 'the idle session was not unloaded within 20 s').toBe(true)
    mock.script({ kind: 'text', text: 'seen both' })
    const third = await post('/api/turn/start', {
      threadId,
      input: [{ type: 'text', text: 'what did you see?' }],
    })
    expect(third.status, JSON.stringify(third.body).slice(0, 500)).toBe(200)
    expect(third.body.turn).toMatchObject({ status: 'completed', error: null })
    expect(third.body.turn.items).toContainEqual(
      expect.objectContaining({ type: 'agentMessage', text: 'seen both' }),
    )

    // the whole history: every turn, the images as codex keeps them
    const imagesOf = (thread: {
      turns: { items: { type: string; content?: { type: string; url?: string }[] }[] }[]
    }) =>
      thread.turns.flatMap((t) =>
        t.items.flatMap((item) => (item.content ?? []).filter((c) => c.type === 'image').map((c) => c.url)),
      )
    const resumed = await post('/api/thread/resume', { threadId })
    expect(resumed.status, JSON.stringify(resumed.body).slice(0, 500)).toBe(200)
    expect(resumed.body.thread.turns).toHaveLength(3)
    expect(imagesOf(resumed.body.thread as never)).toEqual(images)
    const forked = await post('/api/thread/fork', { threadId })
    expect(forked.status, JSON.stringify(forked.body).slice(0, 500)).toBe(200)
    expect(forked.body.thread.id).not.toBe(threadId)
    expect(imagesOf(forked.body.thread as never)).toEqual(images)

    // after a restart that reads no more than 8 MiB of history (its least): the next turn resumes the thread all
    // the same (without its turns) and seed 003's turn/start answers it with the gateway's items; reading the
    // history fails at once, saying why, never waiting out CODEX_REQUEST_TIMEOUT (300 s: past this test's time)
    await gw.close()
    const env = { ...gw.env, CODEX_REQUEST_TIMEOUT: '300', CODEX_HISTORY_MAX_BYTES: String(agentLineChars) }
    restarted = await startServer({ env, cwd: gw.dir, logger: false })
    mock.script({ kind: 'text', text: 'still here' })
    const fourth = await post(
      '/api/turn/start',
      { threadId, input: [{ type: 'text', text: 'and now?' }] },
      restarted.url,
    )
    expect(fourth.status, JSON.stringify(fourth.body).slice(0, 500)).toBe(200)
    expect(fourth.body.turn).toMatchObject({ status: 'completed', error: null })
    const refused = await post('/api/thread/resume', { threadId }, restarted.url)
    expect(refused.status).toBe(500)
    expect(refused.body.detail).toMatch(
      /answered thread\/read with more than 8388608 characters on one line, more than the gateway reads: raise CODEX_HISTORY_MAX_BYTES/,
    )
    // a fork is made, and its answer (the fork with its turns) is as long: it names the fork, which is there to use
    const refusedFork = await post('/api/thread/fork', { threadId }, restarted.url)
    expect(refusedFork.status).toBe(500)
    const [, parent, fork] =
      /^thread (\S+) was forked as thread (\S+), but its history is longer than the gateway reads \(codex app-server answered thread\/read with more than 8388608 characters on one line\): raise CODEX_HISTORY_MAX_BYTES/.exec(
        refusedFork.body.detail as string,
      ) ?? []
    expect(parent).toBe(threadId)
    expect(fork).not.toBe(threadId)
    const forkRead = await post('/api/thread/read', { threadId: fork }, restarted.url)
    expect(forkRead.status, JSON.stringify(forkRead.body).slice(0, 500)).toBe(200)
    expect(forkRead.body.thread).toMatchObject({ id: fork, turns: [] })
    mock.script({ kind: 'text', text: 'in the fork' })
    const forkTurn = await post(
      '/api/turn/start',
      { threadId: fork, input: [{ type: 'text', text: 'go on' }] },
      restarted.url,
    )
    expect(forkTurn.status, JSON.stringify(forkTurn.body).slice(0, 500)).toBe(200)
    expect(forkTurn.body.turn).toMatchObject({ status: 'completed', error: null })
    // the fork holds its parent's history: the model was sent the parent's turns
    expect(requestInput(mock)).toContain('what did you see?')
  })
})
