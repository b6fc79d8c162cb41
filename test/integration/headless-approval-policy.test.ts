import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Approval, Session } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  mockAgentSettings,
  postJson,
  readNdjson,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'

/**
 * claude, gemini and copilot run headless (`-p`): nobody can answer them, so they have no approvals. A session
 * of theirs takes approvalPolicy `never` (or none) and refuses the policies that promise asking, instead of
 * storing them and running commands unasked. `never` is what they do: the real CLIs against the mock model.
 */
const headless = ['claude', 'gemini', 'copilot'] as const

describe('approvalPolicy on agents without approvals', { timeout: 120_000 }, () => {
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    const keys = { anthropic: 'anthropic-test-key', gemini: 'gemini-test-key', copilot: 'copilot-test-key' }
    gw = await startGateway(mock, mockAgentSettings(mock, keys))
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })
  afterEach(() => mock.reset())

  const create = async (body: Record<string, unknown>) => {
    const res = await postJson(`${gw.url}/v1/sessions`, body)
    return { status: res.status, body: (await res.json()) as Session & { error?: Record<string, unknown> } }
  }

  it.each(headless)(
    '%s: untrusted, on-request and on-failure are a 400 naming what it takes instead',
    async (agent) => {
      for (const approvalPolicy of ['untrusted', 'on-request', 'on-failure']) {
        const res = await create({ agent, approvalPolicy, sandbox: 'workspace-write' })
        expect(res.status, JSON.stringify(res.body)).toBe(400)
        const error = res.body.error as { code: string; message: string; details: Record<string, unknown> }
        expect(error.code).toBe('invalid_request')
        for (const words of [
          `agent ${agent}`,
          `"${approvalPolicy}"`,
          '"never"',
          'codex',
          'acp:claude-agent-acp',
        ])
          expect(error.message).toContain(words)
        expect(error.details).toEqual({
          agent,
          approvalPolicy,
          supported: ['never'],
          agentsWithApprovals: expect.arrayContaining(['codex', 'acp:claude-agent-acp']),
        })
      }
      const stored = (await (await fetch(`${gw.url}/v1/sessions?agent=${agent}`)).json()) as {
        sessions: Session[]
      }
      expect(stored.sessions).toEqual([])
    },
  )

  it.each(headless)(
    '%s: never is taken and means it: the command is refused, nothing is asked',
    async (agent) => {
      const res = await create({ agent, approvalPolicy: 'never', sandbox: 'read-only' })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      expect(res.body).toMatchObject({ agent, approvalPolicy: 'never', sandbox: 'read-only' })
      const file = `blocked-${agent}.txt`
      mock.script(
        { kind: 'exec_command', cmd: `echo nope > ${file}` },
        { kind: 'text', text: 'it was refused' },
      )
      const events = (await readNdjson(
        await postJson(
          `${gw.url}/v1/sessions/${res.body.id}/turns`,
          { input: 'write the file' },
          { accept: 'application/x-ndjson' },
        ),
      )) as unknown as StoredEvent[]
      expect(events.at(-1)).toMatchObject({ type: 'turn.completed' })
      expect(events.filter((e) => e.type === 'approval.requested')).toEqual([])
      const command = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
      expect(command).toMatchObject({ item: { status: expect.stringMatching(/^(declined|failed)$/) } })
      expect(existsSync(path.join(gw.workspace, file))).toBe(false)
      const pending = (await (await fetch(`${gw.url}/v1/approvals?state=pending`)).json()) as {
        approvals: Approval[]
      }
      expect(pending.approvals).toEqual([])
    },
  )

  it.each(headless)('%s: no approvalPolicy is taken as before (stored as none)', async (agent) => {
    const res = await create({ agent, sandbox: 'read-only' })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.approvalPolicy).toBeNull()
  })
})
