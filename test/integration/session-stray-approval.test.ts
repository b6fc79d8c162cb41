import { describe, expect, it } from 'vitest'
import { parseApproval } from '../../src/agents/codex-app-server/approvals.js'
import type { SessionHooks } from '../../src/agents/session.js'
import type { Approval, Session, Turn } from '../../src/protocol/sessions.js'
import { postJson, sharedGateway } from '../support/gateway.js'

/**
 * codex may ask for an approval after the turn it belongs to ended (interrupted while the command's request
 * was on its way; found by bench/session-lifecycle-stress.ts, where an archive right after followed): no turn
 * of the gateway runs to answer it for. It is cancelled at once and not recorded: before, it was stored and
 * announced with no turn (after `archived`, when the session was archived meanwhile) and stayed pending until
 * codex gave it up.
 */
describe('an approval asked when no turn runs (real codex session)', () => {
  const shared = sharedGateway()

  it('is cancelled at once, neither stored nor announced', async () => {
    const { mock, gw } = shared
    const session = (await (
      await postJson(`${gw.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'workspace-write' })
    ).json()) as Session
    mock.script({ kind: 'text', text: 'done' })
    const turn = (await (
      await postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'hi' })
    ).json()) as Turn
    expect(turn.status).toBe('completed')
    const before = (await (await fetch(`${gw.url}/v1/sessions/${session.id}`)).json()) as Session
    // the hooks the gateway gave the live agent session: what codex's late request reaches
    const live = (
      gw.ctx.tenancy.scope(null).sessions as unknown as {
        live: { get(id: string): { agent: { hooks: SessionHooks } } }
      }
    ).live
    const decision = await live
      .get(session.id)
      .agent.hooks.requestApproval(
        { kind: 'command', command: 'echo late', options: ['accept', 'decline', 'cancel'] },
        new AbortController().signal,
      )
    expect(decision).toBe('cancel')
    const approvals = (await (await fetch(`${gw.url}/v1/approvals?sessionId=${session.id}`)).json()) as {
      approvals: Approval[]
    }
    expect(approvals.approvals).toEqual([])
    const after = (await (await fetch(`${gw.url}/v1/sessions/${session.id}`)).json()) as Session
    expect(after).toMatchObject({ status: 'idle', lastSeq: before.lastSeq })
  })

  it("one asked for an earlier codex turn while the next runs is cancelled, not shown as the running turn's", async () => {
    const { mock, gw } = shared
    const session = (await (
      await postJson(`${gw.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'workspace-write' })
    ).json()) as Session
    mock.script({ kind: 'text', text: 'slow', delayMs: 60_000 })
    const turn = (await (
      await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'hi' })
    ).json()) as Turn
    const running = async () =>
      (
        (await (await fetch(`${gw.url}/v1/sessions/${session.id}`)).json()) as Session & { turns: Turn[] }
      ).turns.find((t) => t.id === turn.id)
    await expect.poll(async () => (await running())?.agentTurnId ?? null, { timeout: 30_000 }).not.toBeNull()
    // what the agent session answers codex's request with (CodexSession.request)
    const agent = (
      gw.ctx.tenancy.scope(null).sessions as unknown as {
        live: { get(id: string): { agent: { request(m: string, p: unknown, id: string): Promise<unknown> } } }
      }
    ).live.get(session.id).agent
    const method = 'item/commandExecution/requestApproval'
    const params = {
      threadId: session.agentSessionId,
      turnId: 'an-earlier-turn',
      itemId: 'call_late',
      command: 'echo late',
      availableDecisions: ['accept', 'decline', 'cancel'],
    }
    expect(await agent.request(method, params, 'late-1')).toEqual(
      parseApproval(method, params)!.answer('cancel'),
    )
    const approvals = (await (await fetch(`${gw.url}/v1/approvals?sessionId=${session.id}`)).json()) as {
      approvals: Approval[]
    }
    expect(approvals.approvals).toEqual([])
    const interrupted = await postJson(`${gw.url}/v1/sessions/${session.id}/interrupt`, {})
    expect(interrupted.status).toBe(200)
    expect(await running()).toMatchObject({ status: 'interrupted' })
  }, 90_000)
})
