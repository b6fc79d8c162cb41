import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer } from '../../src/http/server.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, startGateway } from '../support/gateway.js'
import { readSseUntil } from '../support/sse-client.js'

gatewayModules()

/**
 * A codex session with no approval policy of its own, whose last turn named one (`untrusted`), reopened after a
 * gateway restart in a new app-server: codex restores that turn's policy from the thread's rollout on
 * `thread/resume`, so the gateway names the thread's own policy (kept in the session's document as
 * `agentApprovalPolicy`, what codex opened the thread with) on that resume. The next turn, naming none, runs
 * with the thread's own policy (codex's default, on-request: this command runs unasked), not the earlier turn's
 * (`untrusted` would ask). The real codex against the mock model, over real sockets.
 */
describe('a codex session reopened after a gateway restart, its last turn with a policy of its own', () => {
  let mock: MockLlm
  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterAll(async () => {
    await mock?.close()
  })

  it("runs its next turn with the thread's own policy, kept in the session", async () => {
    const first = await startGateway(mock)
    let session: Session
    try {
      const created = await postJson(`${first.url}/v1/sessions`, { sandbox: 'workspace-write' })
      session = (await created.json()) as Session
      expect(created.status, JSON.stringify(session)).toBe(201)
      // codex opened the thread with its default; the session keeps it (its own policy stays null)
      expect(session).toMatchObject({ approvalPolicy: null, agentApprovalPolicy: 'on-request' })
      mock.script({ kind: 'text', text: 'hello' })
      const turn = (await (
        await postJson(`${first.url}/v1/sessions/${session.id}/turns?wait=true`, {
          input: 'say hello',
          approvalPolicy: 'untrusted',
        })
      ).json()) as Turn
      expect(turn).toMatchObject({ status: 'completed', approvalPolicy: 'untrusted' })
    } finally {
      await first.close()
    }

    const second = await startServer({ env: first.env, cwd: first.dir, logger: false })
    try {
      mock.script({ kind: 'exec_command', cmd: 'echo own > own.txt' }, { kind: 'text', text: 'wrote it' })
      const res = await postJson(
        `${second.url}/v1/sessions/${session.id}/turns`,
        { input: 'write the file' },
        { accept: 'text/event-stream' },
      )
      const frames = await readSseUntil(res, (f) => {
        const ev = JSON.parse(f.data) as StoredEvent
        return ev.type === 'approval.requested' || ev.type === 'turn.completed' || ev.type === 'turn.failed'
      })
      const events = frames.map((f) => JSON.parse(f.data) as StoredEvent)
      expect(events.map((e) => e.type)).not.toContain('approval.requested')
      expect(events.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
      expect(existsSync(path.join(session.cwd, 'own.txt'))).toBe(true)
      const read = (await (await fetch(`${second.url}/v1/sessions/${session.id}`)).json()) as Session
      expect(read).toMatchObject({ approvalPolicy: null, agentApprovalPolicy: 'on-request' })
      // a fork keeps its parent's own policy, not the override
      const fork = await postJson(`${second.url}/v1/sessions/${session.id}/fork`, {})
      const forked = (await fork.json()) as Session
      expect(fork.status, JSON.stringify(forked)).toBe(201)
      expect(forked).toMatchObject({ approvalPolicy: null, agentApprovalPolicy: 'on-request' })
    } finally {
      await second.close()
    }
  })
})
