import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { streamsAttached } from '../../src/http/compat/agent-stream-attach.js'
import type { Session } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { AgentStreamClient } from '../support/agent-stream-client.js'
import { startGateway, type TestGateway } from '../support/gateway.js'
import { h2connect } from '../support/h2-client.js'

/**
 * A /agent/stream whose first `user_message` is still finding its session when the gateway begins to stop: the
 * stop ends the stream (it follows no session yet), and the session found afterwards is not attached to, so no
 * count of its followers is left behind (it would keep a later stream's leaving from interrupting its turn).
 * The session's creation is held until the stop reached the stream: the race, every time.
 */
describe('/agent/stream: a session found while the gateway stops', () => {
  let mock: MockLlm
  let gw: TestGateway | undefined
  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterEach(async () => {
    await gw?.close(0)
    gw = undefined
  })
  afterAll(async () => {
    await mock?.close()
  })

  it('ends the stream and leaves no follower counted', async () => {
    gw = await startGateway(mock, { SHUTDOWN_GRACE_SECONDS: '60' })
    const sessions = gw.ctx.tenancy.scope(null).sessions
    const create = sessions.create.bind(sessions)
    let created!: (s: Session) => void
    const whenCreated = new Promise<Session>((resolve) => {
      created = resolve
    })
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    sessions.create = async (...args) => {
      const session = await create(...args)
      created(session)
      await released
      return session
    }
    const h2 = h2connect(gw.url)
    try {
      const client = new AgentStreamClient(h2, 'ndjson')
      await client.send({ type: 'user_message', sessionId: 'stop-while-found', content: 'hello' })
      const session = await whenCreated
      const closing = gw.close()
      gw = undefined
      // the stop reached the stream, which had no session yet: its end frame, then the end
      await client.ended
      const last = client.frames.at(-1)!
      expect(last).toMatchObject({ type: 'error', code: 'FATAL_STREAM_ERROR', retryable: true })
      release()
      await closing
      expect(streamsAttached(session.id)).toBe(0)
    } finally {
      release()
      h2.destroy()
    }
  })
})
