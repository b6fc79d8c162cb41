import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Approval, Session } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { AgentStreamClient, streamSession } from '../support/agent-stream-client.js'
import {
  gatewayModules,
  mockAgentSettings,
  postJson,
  readNdjson,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'
import { h2connect } from '../support/h2-client.js'

/**
 * gemini and copilot run headless (`-p`): nobody can answer them, so they have no approvals. A session of theirs
 * takes approvalPolicy `never` (or none) and refuses the policies that promise asking, instead of storing them
 * and running commands unasked. `never` is what they do: the real CLIs against the mock model. (claude asks the
 * gateway through its permission prompt tool: claude-approvals.test.ts.)
 */
const headless = ['gemini', 'copilot'] as const

gatewayModules()

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

  it('GET /v1/agents lists the approval policies each agent takes: what POST /v1/sessions takes and refuses', async () => {
    const listed = (await (await fetch(`${gw.url}/v1/agents`)).json()) as {
      agents: {
        id: string
        capabilities: { sessions: boolean; approvals: boolean; steer: boolean }
        approvalPolicies: string[]
      }[]
    }
    const every = ['untrusted', 'on-request', 'on-failure', 'never']
    expect(Object.fromEntries(listed.agents.map((a) => [a.id, a.approvalPolicies]))).toMatchObject({
      codex: every,
      'acp:claude-agent-acp': every,
      // in ACP mode it asks (session/request_permission): every policy, unlike its headless driver
      'acp:gemini': every,
      claude: every,
      gemini: ['never'],
      copilot: ['never'],
    })
    for (const agent of listed.agents)
      expect(agent.approvalPolicies, agent.id).toEqual(agent.capabilities.approvals ? every : ['never'])
    // only codex's app-server takes input into a running turn (turn/steer); the others queue it (the console
    // offers "steer" only where it is true)
    expect(listed.agents.filter((a) => a.capabilities.steer).map((a) => a.id)).toEqual(['codex'])
    // the list is what a session takes: a policy the agent lacks is refused naming the same list (the ACP agents'
    // sessions start their process: codex stands for the agents with approvals)
    for (const agent of listed.agents.filter((a) => ['codex', ...headless].includes(a.id))) {
      const res = await create({ agent: agent.id, approvalPolicy: 'untrusted', sandbox: 'read-only' })
      const listedUntrusted = agent.approvalPolicies.includes('untrusted')
      expect(res.status, `${agent.id}: ${JSON.stringify(res.body)}`).toBe(listedUntrusted ? 201 : 400)
      if (!listedUntrusted)
        expect((res.body.error as { details: { supported: string[] } }).details.supported).toEqual(
          agent.approvalPolicies,
        )
    }
  })

  describe('/agent/stream (seed 004)', () => {
    const clientId = (name: string) => `headless-${name}-${process.pid}`
    const stream = () => {
      const h2 = h2connect(gw.url)
      return { c: new AgentStreamClient(h2, 'ndjson'), close: () => h2.close() }
    }

    it('a gemini session without approvalPolicy is full-auto (stored as never) and runs; a later suggest is refused', async () => {
      mock.script({ kind: 'text', text: 'headless hello' })
      const { c, close } = stream()
      try {
        const sessionId = clientId('default')
        await c.send({
          type: 'user_message',
          sessionId,
          content: 'say hello',
          configOverrides: { agent: 'gemini' },
        })
        await c.status_('Agent run completed.')
        expect(c.texts()).toEqual(['headless hello'])
        expect(await streamSession(gw.url, sessionId)).toMatchObject({
          agent: 'gemini',
          approvalPolicy: 'never',
        })
        // switching to a policy that asks, later, is refused too: the message does not run
        const from = c.frames.length
        await c.send({
          type: 'user_message',
          sessionId,
          content: 'again',
          configOverrides: { approvalPolicy: 'suggest' },
        })
        // (without the refusal the turn would run and complete)
        const error = await c.next((f) => f.type === 'error' || f.message === 'Agent run completed.', from)
        expect(error).toMatchObject({ code: 'FRAME_PROCESSING_ERROR' })
        expect(error.message).toContain('"full-auto"')
        expect((await streamSession(gw.url, sessionId)).turnCount).toBe(1)
        c.end()
        await c.ended
      } finally {
        close()
      }
    })

    it('suggest or auto-edit for gemini is refused (AGENT_INIT_FAILED naming full-auto), no session made', async () => {
      for (const approvalPolicy of ['suggest', 'auto-edit']) {
        const { c, close } = stream()
        try {
          const sessionId = clientId(approvalPolicy)
          await c.send({
            type: 'user_message',
            sessionId,
            content: 'say hello',
            configOverrides: { agent: 'gemini', approvalPolicy },
          })
          const error = await c.next((f) => f.type === 'error')
          expect(error).toMatchObject({ code: 'AGENT_INIT_FAILED' })
          for (const words of ['agent gemini', `"${approvalPolicy}"`, '"full-auto"'])
            expect(error.message).toContain(words)
          await c.ended
          await expect(streamSession(gw.url, sessionId)).rejects.toThrow(/no gateway session/)
        } finally {
          close()
        }
      }
    })
  })
})
