import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { AgentStreamClient, type Frame, streamSession } from '../support/agent-stream-client.js'
import {
  mockAgentSettings,
  postJson,
  sharedH2Gateway,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'
import { h2connect } from '../support/h2-client.js'

let counter = 0
const newSessionId = () => `turn-policy-${process.pid}-${++counter}`

/** The first command_prompt of the turn that starts at frame `from`, or its end: whichever comes first. */
const promptOrEnd = (f: Frame) =>
  f.type === 'command_prompt' || (f.type === 'status' && f.message === 'Agent run completed.')

/**
 * Seed 004's `approvalPolicy` on a later `user_message` applies to the turn it starts, in both directions, with
 * the real codex against the mock model over h2c: a stream never gets less asking than it chose.
 */
describe('/agent/stream: approvalPolicy per user_message', () => {
  const shared = sharedH2Gateway()
  const open = () => new AgentStreamClient(shared.h2, 'ndjson')

  it('created full-auto, then a suggest message: its command is a command_prompt and runs only once allowed', async () => {
    const c = open()
    const sessionId = newSessionId()
    shared.mock.script({ kind: 'text', text: 'hello' })
    await c.send({
      type: 'user_message',
      sessionId,
      content: 'say hello',
      configOverrides: { approvalPolicy: 'full-auto' },
    })
    await c.status_('Agent run completed.')
    const session = await streamSession(shared.gw.url, sessionId)
    expect(session.approvalPolicy).toBe('never')
    const file = path.join(session.cwd, 'strict.txt')

    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo strict > strict.txt' },
      { kind: 'text', text: 'wrote it' },
    )
    const from = c.frames.length
    await c.send({
      type: 'user_message',
      sessionId,
      content: 'write the file',
      configOverrides: { approvalPolicy: 'suggest' },
    })
    const first = await c.next(promptOrEnd, from)
    expect(first.type).toBe('command_prompt')
    expect((first.command as string[]).join(' ')).toContain('strict.txt')
    // codex waits for the answer: nothing ran
    expect(existsSync(file)).toBe(false)
    await c.send({ type: 'approve', sessionId, commandId: first.commandId, decision: 'allow' })
    await c.status_('Agent run completed.', from)
    expect(existsSync(file)).toBe(true)
    c.end()
    await c.ended
  })

  it('created suggest, then a full-auto message: its command runs without a command_prompt', async () => {
    const c = open()
    const sessionId = newSessionId()
    shared.mock.script({ kind: 'text', text: 'hello' })
    await c.send({
      type: 'user_message',
      sessionId,
      content: 'say hello',
      configOverrides: { approvalPolicy: 'suggest' },
    })
    await c.status_('Agent run completed.')
    const session = await streamSession(shared.gw.url, sessionId)
    expect(session.approvalPolicy).toBe('untrusted')

    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo free > free.txt' },
      { kind: 'text', text: 'wrote it' },
    )
    const from = c.frames.length
    await c.send({
      type: 'user_message',
      sessionId,
      content: 'write the file',
      configOverrides: { approvalPolicy: 'full-auto' },
    })
    const first = await c.next(promptOrEnd, from)
    expect(first).toMatchObject({ type: 'status', message: 'Agent run completed.' })
    expect(existsSync(path.join(session.cwd, 'free.txt'))).toBe(true)
    // each turn records the policy it ran with: the audit shows the full-auto (never) turn in a suggest session
    const { turns } = (await (await fetch(`${shared.gw.url}/v1/sessions/${session.id}`)).json()) as {
      turns: Turn[]
    }
    expect(turns.map((t) => t.approvalPolicy)).toEqual(['untrusted', 'never'])
    c.end()
    await c.ended
  })

  it("a policy chosen on one message holds for the stream's next ones; a stream that chose none runs the session's own", async () => {
    const c = open()
    const sessionId = newSessionId()
    shared.mock.script({ kind: 'text', text: 'hello' })
    await c.send({
      type: 'user_message',
      sessionId,
      content: 'say hello',
      configOverrides: { approvalPolicy: 'full-auto' },
    })
    await c.status_('Agent run completed.')
    shared.mock.script({ kind: 'text', text: 'switched' })
    let from = c.frames.length
    await c.send({
      type: 'user_message',
      sessionId,
      content: 'ask from now on',
      configOverrides: { approvalPolicy: 'suggest' },
    })
    await c.status_('Agent run completed.', from)

    // no approvalPolicy on this frame: the stream's suggest still holds
    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo again > again.txt' },
      { kind: 'text', text: 'denied, fine' },
    )
    from = c.frames.length
    await c.send({ type: 'user_message', sessionId, content: 'write again' })
    const prompt = await c.next(promptOrEnd, from)
    expect(prompt.type).toBe('command_prompt')
    await c.send({ type: 'approve', sessionId, commandId: prompt.commandId, decision: 'deny' })
    await c.status_('Agent run completed.', from)
    const session = await streamSession(shared.gw.url, sessionId)
    expect(existsSync(path.join(session.cwd, 'again.txt'))).toBe(false)
    c.end()
    await c.ended

    // a new stream naming no policy: the session's own (full-auto), not the earlier stream's suggest
    const d = open()
    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo own > own.txt' },
      { kind: 'text', text: 'wrote it' },
    )
    await d.send({ type: 'user_message', sessionId, content: 'write with the session policy' })
    const end = await d.next(promptOrEnd)
    expect(end).toMatchObject({ type: 'status', message: 'Agent run completed.' })
    expect(existsSync(path.join(session.cwd, 'own.txt'))).toBe(true)
    d.end()
    await d.ended
  })
})

/** An ACP agent takes its approval policy when its session is created: another one on a frame is refused. */
describe('/agent/stream: a policy an ACP session cannot take per turn', { timeout: 120_000 }, () => {
  let mock: MockLlm
  let gw: TestGateway
  let h2: ReturnType<typeof h2connect>
  beforeAll(async () => {
    mock = await startMockLlm()
    const keys = { anthropic: 'anthropic-test-key', gemini: 'gemini-test-key', copilot: 'copilot-test-key' }
    gw = await startGateway(mock, mockAgentSettings(mock, keys))
    h2 = h2connect(gw.url)
  })
  afterAll(async () => {
    h2?.close()
    await gw?.close()
    await mock?.close()
  })

  it('full-auto on an untrusted acp:claude-agent-acp session: FRAME_PROCESSING_ERROR, no turn, nothing sent to the model', async () => {
    const sessionId = newSessionId()
    const created = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'acp:claude-agent-acp',
      approvalPolicy: 'untrusted',
      sandbox: 'workspace-write',
      externalId: sessionId,
    })
    expect(created.status).toBe(201)
    const session = (await created.json()) as Session
    const c = new AgentStreamClient(h2, 'ndjson')
    await c.send({
      type: 'user_message',
      sessionId,
      content: 'run it all',
      configOverrides: { approvalPolicy: 'full-auto' },
    })
    // the refusal, or the turn's start: whichever comes first
    const error = await c.next(
      (f) => f.type === 'error' || (f.type === 'status' && f.message === 'Agent processing... '),
    )
    expect(error).toMatchObject({ type: 'error', code: 'FRAME_PROCESSING_ERROR' })
    for (const words of ['agent acp:claude-agent-acp', '"untrusted"', '"never"'])
      expect(error.message).toContain(words)
    expect(c.frames.map((f) => f.message)).not.toContain('Agent processing... ')
    const after = (await (await fetch(`${gw.url}/v1/sessions/${session.id}`)).json()) as Session
    expect(after.turnCount).toBe(0)
    expect(mock.requests).toHaveLength(0)
    c.end()
    await c.ended
  })
})
