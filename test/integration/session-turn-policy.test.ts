import { existsSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Approval, Session, Turn } from '../../src/protocol/sessions.js'
import { finishedTurnAt, pendingApprovalAt, postJson, sharedGateway } from '../support/gateway.js'

/**
 * POST /v1/sessions/:id/turns {approvalPolicy}: the turn runs with it, the turns after it without one with the
 * session's own again (codex keeps a turn's policy for later turns: the gateway names the own one again). The
 * real codex against the mock model, over a real socket.
 */
describe('POST /v1/sessions/:id/turns: approvalPolicy for one turn', () => {
  const shared = sharedGateway()
  const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T
  const approvalsOf = async (sessionId: string) =>
    (await json<{ approvals: Approval[] }>(fetch(`${shared.gw.url}/v1/approvals?sessionId=${sessionId}`)))
      .approvals

  it('a never session: an untrusted turn asks before its command runs; the next turn without one does not ask', async () => {
    const session = await json<Session>(
      postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never', sandbox: 'workspace-write' }),
    )
    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo asked > asked.txt' },
      { kind: 'text', text: 'wrote it' },
    )
    const started = await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, {
      input: 'write it',
      approvalPolicy: 'untrusted',
    })
    expect(started.status).toBe(202)
    const turn = (await started.json()) as Turn
    const approval = await pendingApprovalAt(shared.gw.url, session.id)
    expect(approval.command).toContain('asked.txt')
    expect(existsSync(path.join(session.cwd, 'asked.txt'))).toBe(false)
    const answered = await postJson(`${shared.gw.url}/v1/approvals/${approval.id}`, { decision: 'accept' })
    expect(answered.status).toBe(200)
    expect(await finishedTurnAt(shared.gw.url, session.id, turn.id)).toMatchObject({ status: 'completed' })
    expect(existsSync(path.join(session.cwd, 'asked.txt'))).toBe(true)

    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo unasked > unasked.txt' },
      { kind: 'text', text: 'wrote it too' },
    )
    const next = await json<Turn>(
      postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'write another' }),
    )
    expect(next).toMatchObject({ status: 'completed', finalResponse: 'wrote it too' })
    expect(existsSync(path.join(session.cwd, 'unasked.txt'))).toBe(true)
    expect(await approvalsOf(session.id)).toHaveLength(1)
    // the session's own policy is unchanged: a turn's policy is the turn's
    expect((await json<Session>(fetch(`${shared.gw.url}/v1/sessions/${session.id}`))).approvalPolicy).toBe(
      'never',
    )
  })

  it('an untrusted session: a never turn runs its command without asking', async () => {
    const session = await json<Session>(
      postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'workspace-write' }),
    )
    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo free > free.txt' },
      { kind: 'text', text: 'wrote it' },
    )
    const turn = await json<Turn>(
      postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns?wait=true`, {
        input: 'write it',
        approvalPolicy: 'never',
      }),
    )
    expect(turn).toMatchObject({ status: 'completed', finalResponse: 'wrote it' })
    expect(existsSync(path.join(session.cwd, 'free.txt'))).toBe(true)
    expect(await approvalsOf(session.id)).toHaveLength(0)
  })

  it('approvalPolicy with onBusy "steer" is a 400: the running turn keeps its policy', async () => {
    const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, {}))
    const res = await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, {
      input: 'steer it',
      onBusy: 'steer',
      approvalPolicy: 'untrusted',
    })
    expect(res.status).toBe(400)
    expect(JSON.stringify(await res.json())).toContain('steer')
    expect(shared.mock.requests).toHaveLength(0)
  })
})
