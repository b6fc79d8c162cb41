import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Approval, Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  gatewayModules,
  postJson,
  sessionEventsUntil,
  sessionEventsUntilTurnEnd,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'
import { tempDir } from '../support/temp.js'

gatewayModules()

/**
 * An approver's `accept_for_session` of a codex command must stay with that session. codex 0.171 offers no
 * `acceptForSession` for commands, only `acceptWithExecpolicyAmendment`, which it writes as an allow rule into
 * CODEX_HOME/rules/default.rules: every later thread of that CODEX_HOME (every untenanted client's sessions) then
 * ran that command unasked and without its sandbox. Here one session's command that writes outside the workspace
 * is asked and accepted as far as the gateway allows; another session's same command must be asked again and,
 * declined, write nothing. codex-acp's `allow_always` to a command is the same
 * amendment, written by its codex into the same CODEX_HOME.
 */
describe('codex: accept_for_session of a command', () => {
  let mock: MockLlm
  let gw: TestGateway
  let outside: string
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock)
    outside = tempDir('accept-for-session-outside-')
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  /** A workspace-write `untrusted` session whose one turn runs `cmd`; its first approval, or none when the turn ended unasked. */
  const turnAsking = async (agent: string, cmd: string) => {
    const created = await postJson(`${gw.url}/v1/sessions`, {
      agent,
      approvalPolicy: 'untrusted',
      sandbox: 'workspace-write',
    })
    expect(created.status).toBe(201)
    const session = (await created.json()) as Session
    mock.script({ kind: 'exec_command', cmd }, { kind: 'text', text: 'done' })
    const turn = (await (
      await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'write' })
    ).json()) as Turn
    const ended = (ev: StoredEvent) =>
      (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turn.id
    const seen = await sessionEventsUntil(
      gw.url,
      session.id,
      (ev) => ev.type === 'approval.requested' || ended(ev),
    )
    const asked = seen.find((ev) => ev.type === 'approval.requested')
    const approval = asked
      ? ((await (await fetch(`${gw.url}/v1/approvals/${asked.approvalId}`)).json()) as Approval)
      : undefined
    return { session, turn, approval }
  }

  it.each(['codex', 'acp:codex-acp'])(
    '%s: never a rule in CODEX_HOME; another session asks again, nothing runs outside the sandbox',
    async (agent) => {
      const target = path.join(outside, `${agent.replace(':', '-')}.txt`)
      const cmd = `echo pwned > ${target}`

      const first = await turnAsking(agent, cmd)
      expect(first.approval?.command).toContain(cmd)
      // the strongest answer the gateway takes for it (before: accept_for_session, sent as codex's execpolicy amendment)
      const forSession = await postJson(`${gw.url}/v1/approvals/${first.approval!.id}`, {
        decision: 'accept_for_session',
      })
      if (forSession.status !== 200) {
        expect(forSession.status).toBe(400)
        const accepted = await postJson(`${gw.url}/v1/approvals/${first.approval!.id}`, {
          decision: 'accept',
        })
        expect(accepted.status).toBe(200)
      }
      await sessionEventsUntilTurnEnd(gw.url, first.session.id, first.turn.id)
      // accepted under `untrusted`, the command may have been written outside the workspace: codex retries a
      // command it asked about unsandboxed, unasked, when its sandbox denies it (without CODEX_CONFINE_READS:
      // docs/SECURITY.md, Not defended; codex-escalation.test.ts proves the confined case).
      // What this test is about is the next session: remove what this one may have left.
      rmSync(target, { force: true })

      // another session (another client's, as far as the gateway knows) running the same command: asked again,
      // declined, nothing written (before: not asked, run without the sandbox, the file written)
      const second = await turnAsking(agent, cmd)
      if (second.approval)
        expect(
          (await postJson(`${gw.url}/v1/approvals/${second.approval.id}`, { decision: 'decline' })).status,
        ).toBe(200)
      await sessionEventsUntilTurnEnd(gw.url, second.session.id, second.turn.id)
      expect(second.approval?.command).toContain(cmd)
      expect(existsSync(target)).toBe(false)

      // no allow rule in CODEX_HOME, and codex's session-scoped acceptance is not offered (it offers none here)
      const rules = path.join(gw.env.CODEX_HOME!, 'rules')
      const kept = existsSync(rules)
        ? readdirSync(rules).map((f) => readFileSync(path.join(rules, f), 'utf8'))
        : []
      expect(kept.join('\n')).not.toContain('decision="allow"')
      expect(first.approval?.options).toEqual(['accept', 'decline', 'cancel'])
    },
  )
})
