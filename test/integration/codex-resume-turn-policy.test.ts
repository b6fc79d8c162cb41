import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { idleUnloaded } from '../support/idle-unload.js'
import { readSseUntil } from '../support/sse-client.js'

gatewayModules()

/**
 * A codex session whose agent session was let go and reopened in the same app-server (`thread/resume`: after a
 * turn the gateway ended by force, an idle unload) after a turn that named an approval policy of its own: its next
 * turn runs with the thread's own policy, not that turn's (codex 0.169 does not carry the turn's policy over such
 * a resume; after a gateway restart it does: docs/ARCHITECTURE.md says so). The real codex against the mock
 * model; SESSION_IDLE_SECONDS=1 lets the session go, as the forced end's close does.
 */
describe('a codex session reopened after a turn with a policy of its own', { timeout: 120_000 }, () => {
  let mock: MockLlm
  let gw: TestGateway | undefined
  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  /** A turn streamed to its end, or to its first approval request: the events of it. */
  async function turnUntilEndOrAsk(sessionId: string, body: Record<string, unknown>) {
    const res = await postJson(`${gw!.url}/v1/sessions/${sessionId}/turns`, body, {
      accept: 'text/event-stream',
    })
    const frames = await readSseUntil(res, (f) => {
      const ev = JSON.parse(f.data) as StoredEvent
      return ev.type === 'approval.requested' || ev.type === 'turn.completed' || ev.type === 'turn.failed'
    })
    return frames.map((f) => JSON.parse(f.data) as StoredEvent)
  }

  it("runs its next turn with the thread's own policy", async () => {
    gw = await startGateway(mock, { SESSION_IDLE_SECONDS: '1' })
    // no policy of its own: the thread runs codex's default (on-request), which runs this command unasked
    const created = await postJson(`${gw.url}/v1/sessions`, { sandbox: 'workspace-write' })
    const session = (await created.json()) as Session
    expect(created.status, JSON.stringify(session)).toBe(201)
    mock.script({ kind: 'text', text: 'hello' })
    const first = await turnUntilEndOrAsk(session.id, { input: 'say hello', approvalPolicy: 'untrusted' })
    expect(first.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })

    // the session is let go (its agent session closed, as after a turn ended by force) and reopened for the next
    const unloaded = await idleUnloaded(gw!.ctx.sessions, session.id)
    expect(unloaded, 'the idle session was not unloaded within 20 s').toBe(true)
    mock.script({ kind: 'exec_command', cmd: 'echo own > own.txt' }, { kind: 'text', text: 'wrote it' })
    const next = await turnUntilEndOrAsk(session.id, { input: 'write the file' })
    expect(next.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
    expect(existsSync(path.join(session.cwd, 'own.txt'))).toBe(true)
  })
})
