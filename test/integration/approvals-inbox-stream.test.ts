import { existsSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ApiError, createClient, type Schemas } from '../../src/client/index.js'
import { sharedGateway, startGateway } from '../support/gateway.js'

type Approval = Schemas['Approval']

/** GET /v1/approvals/events: the live inbox the console follows, against the real codex and the mock model. */
describe('pending approvals, live', () => {
  const shared = sharedGateway({ AGENTS: 'codex' })

  it('pushes the list when an approval is asked and again when it is answered', async () => {
    const { mock, gw } = shared
    const client = createClient({ baseUrl: gw.url })
    const abort = new AbortController()
    const lists = client.pendingApprovals({ signal: abort.signal })[Symbol.asyncIterator]()
    const next = async (match: (list: Approval[]) => boolean) => {
      for (;;) {
        const { value, done } = await lists.next()
        if (done) throw new Error('the stream ended')
        if (match(value)) return value
      }
    }
    expect(await next(() => true)).toEqual([])
    const { data: session } = await client.api.POST('/v1/sessions', {
      body: { approvalPolicy: 'untrusted', sandbox: 'workspace-write' },
    })
    if (!session) throw new Error('no session')
    mock.script({ kind: 'exec_command', cmd: 'echo inbox > inbox.txt' }, { kind: 'text', text: 'wrote it' })
    await client.api.POST('/v1/sessions/{id}/turns', {
      params: { path: { id: session.id } },
      body: { input: 'write the file' },
    })
    const [asked] = await next((list) => list.length > 0)
    expect(asked).toMatchObject({ sessionId: session.id, state: 'pending', cwd: session.cwd })
    expect(asked!.command).toContain('inbox.txt')
    const { response } = await client.api.POST('/v1/approvals/{id}', {
      params: { path: { id: asked!.id } },
      body: { decision: 'accept' },
    })
    expect(response.status).toBe(200)
    expect(await next((list) => list.length === 0)).toEqual([])
    abort.abort()
    await lists.return?.(undefined)
    for await (const ev of client.sessionEvents(session.id)) if (ev.type === 'turn.completed') break
    expect(existsSync(path.join(session.cwd, 'inbox.txt'))).toBe(true)
  })

  it('with API_TOKENS a follower without a token gets ApiError 401, with one the list', async () => {
    const gw = await startGateway(null, { API_TOKENS: 'inbox-token', AGENTS: 'codex' })
    try {
      await expect(createClient({ baseUrl: gw.url }).pendingApprovals().next()).rejects.toMatchObject({
        constructor: ApiError,
        status: 401,
      })
      const lists = createClient({ baseUrl: gw.url, token: 'inbox-token' }).pendingApprovals()
      expect((await lists.next()).value).toEqual([])
      await lists.return?.(undefined)
    } finally {
      await gw.close()
    }
  })
})
