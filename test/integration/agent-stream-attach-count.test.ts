import { describe, expect, it } from 'vitest'
import { streamsAttached } from '../../src/http/compat/agent-stream-attach.js'
import type { Session } from '../../src/protocol/sessions.js'
import { AgentStreamClient, type Frame } from '../support/agent-stream-client.js'
import { agentWsClient } from '../support/agent-ws-client.js'
import { gatewayPerTest, startGateway } from '../support/gateway.js'
import { h2connect } from '../support/h2-client.js'

/**
 * How many streams follow a session (agent-stream-attach.ts) decides whether the last one to leave interrupts its
 * turn: a stream counts once while it follows the session, and not at all once it ended. A count left behind
 * would keep a later stream's leaving from interrupting the session's turn.
 */
describe('/agent/stream: the streams counted on a session', () => {
  const fx = gatewayPerTest()

  /**
   * The stop begins while the stream's first `user_message` is finding its session: the stop ends the stream (it
   * follows no session yet), and the session found afterwards is not attached to. The session's creation is held
   * until the stop reached the stream: the race, every time.
   */
  it('a session found after the stop ended its stream: none', async () => {
    fx.gw = await startGateway(fx.mock, { SHUTDOWN_GRACE_SECONDS: '60' })
    const sessions = fx.gw.ctx.tenancy.scope(null).sessions
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
    const h2 = h2connect(fx.gw.url)
    try {
      const client = new AgentStreamClient(h2, 'ndjson')
      await client.send({ type: 'user_message', sessionId: 'stop-while-found', content: 'hello' })
      const session = await whenCreated
      const closing = fx.gw.close()
      fx.gw = undefined
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

  it('two first user_messages in one read over /agent/ws: once, and each frame once', async () => {
    fx.gw = await startGateway(fx.mock)
    fx.mock.script({ kind: 'text', text: 'one' })
    fx.mock.script({ kind: 'text', text: 'two' })
    const client = agentWsClient(`${fx.gw.url.replace(/^http/, 'ws')}/agent/ws`)
    await client.opened
    const closed = new Promise<void>((resolve) => client.ws.once('close', () => resolve()))
    const message = (content: string) => ({ type: 'user_message', sessionId: 'ws-burst', content })
    // one write: the server reads both messages at once (ws emits them together, paused or not)
    client.socket().cork()
    client.send(message('one'))
    client.send(message('two'))
    client.socket().uncork()
    const completed = (f: Frame) => f.type === 'status' && f.message === 'Agent run completed.'
    await client.next(completed)
    const session = await fx.gw.ctx.store.findSessionByExternalId('ws-burst')
    expect(streamsAttached(session!.id)).toBe(1)
    await fx.stop()
    await closed
    expect(streamsAttached(session!.id)).toBe(0)
    const initialized = (f: Frame) => f.type === 'status' && f.message === 'Session ws-burst initialized.'
    expect(client.frames.filter(initialized)).toHaveLength(1)
    expect(client.frames.filter(completed)).toHaveLength(1)
  })
})
