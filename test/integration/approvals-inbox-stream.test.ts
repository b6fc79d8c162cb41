import { existsSync } from 'node:fs'
import http from 'node:http'
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

  it('SSE_KEEPALIVE_SECONDS=0 sends no keep-alive comment while a stream with 1 gets one; each announces it (X-Keepalive-Seconds)', async () => {
    const none = await startGateway(null, { SSE_KEEPALIVE_SECONDS: '0', AGENTS: 'codex' })
    const small = await startGateway(null, { SSE_KEEPALIVE_SECONDS: '1', AGENTS: 'codex' })
    const silent = rawSse(`${none.url}/v1/approvals/events`)
    let chatty: ReturnType<typeof rawSse> | undefined
    try {
      await silent.until('event: approvals')
      const opened = Date.now()
      // the other stream opens after this one's first frame: when its first comment comes (1 s later), this one
      // has been open longer
      chatty = rawSse(`${small.url}/v1/approvals/events`)
      await chatty.until(': keep-alive\n\n')
      expect(Date.now() - opened).toBeGreaterThanOrEqual(990)
      expect(silent.text()).toBe('event: approvals\ndata: {"approvals":[]}\n\n')
      // what a client bounds a stream's silence by (none for 0)
      expect(silent.headers()['x-keepalive-seconds']).toBe('0')
      expect(chatty.headers()['x-keepalive-seconds']).toBe('1')
    } finally {
      silent.close()
      chatty?.close()
      await none.close()
      await small.close()
    }
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

/** A GET with Accept: text/event-stream over its own socket, its bytes as they come. */
function rawSse(url: string) {
  let text = ''
  let changed = () => {}
  let failed: Error | undefined
  let headers: http.IncomingHttpHeaders = {}
  const req = http.get(url, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
    headers = res.headers
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      text += chunk
      changed()
    })
  })
  req.on('error', (err) => {
    failed = err
    changed()
  })
  return {
    text: () => text,
    headers: () => headers,
    /** Resolves once the stream's text includes `needle`. */
    async until(needle: string): Promise<void> {
      while (!text.includes(needle)) {
        if (failed) throw failed
        await new Promise<void>((resolve) => (changed = resolve))
      }
    },
    close: () => req.destroy(),
  }
}
