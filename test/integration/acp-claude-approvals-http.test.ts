import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  finishedTurnAt,
  pendingApprovalAt,
  postJson,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'

/**
 * Claude Code's permission requests, through ACP (claude-agent-acp), surface as approval.requested and are
 * answered over HTTP: allow writes the file, reject does not.
 */
describe('Claude permission requests over HTTP (acp:claude-agent-acp)', () => {
  let mock: MockLlm
  let gw: TestGateway

  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(null, {
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: 'sk-ant-test',
      CLAUDE_CODE_MAX_RETRIES: '0',
    })
  })
  afterAll(async () => {
    await gw.close()
    await mock.close()
    expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
  })

  for (const [decision, written] of [
    ['accept', true],
    ['decline', false],
  ] as const) {
    it(`answered ${decision} over HTTP: the file is ${written ? '' : 'not '}written`, async () => {
      const file = `claude-${decision}.txt`
      mock.reset()
      mock.on(
        `write ${file}`,
        { kind: 'exec_command', cmd: `echo hi > ${file}` },
        { kind: 'text', text: 'done' },
      )
      mock.setDefault({ kind: 'text', text: 'OK' })
      const session = (await (
        await postJson(`${gw.url}/v1/sessions`, { agent: 'acp:claude-agent-acp' })
      ).json()) as Session
      expect(session).toMatchObject({ agent: 'acp:claude-agent-acp', status: 'idle' })
      const turn = (await (
        await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: `write ${file}` })
      ).json()) as Turn
      const approval = await pendingApprovalAt(gw.url, session.id)
      expect(approval).toMatchObject({ kind: 'command', state: 'pending' })
      expect(approval.command).toContain(`echo hi > ${file}`)
      const status = (await (await fetch(`${gw.url}/v1/sessions/${session.id}`)).json()) as Session
      expect(status.status).toBe('waiting_for_approval')
      const answer = await postJson(`${gw.url}/v1/approvals/${approval.id}`, { decision })
      expect(answer.status).toBe(200)
      const done = await finishedTurnAt(gw.url, session.id, turn.id)
      expect(['completed', 'interrupted']).toContain(done.status)
      expect(existsSync(path.join(session.cwd, file))).toBe(written)
    }, 60_000)
  }
})
