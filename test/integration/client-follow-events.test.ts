import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createClient, SilentStreamError, type StoredEvent } from '../../src/client/index.js'
import { startCuttingProxy } from '../support/cutting-proxy.js'
import { sharedGateway } from '../support/gateway.js'

/**
 * The typed client's event follower against a real gateway: a dropped connection resumes with Last-Event-ID, and
 * so does one gone silent (keep-alive every second here, so silence is told within 2.5 s).
 */
describe('client event follower', () => {
  const shared = sharedGateway({ AGENTS: 'codex', SSE_KEEPALIVE_SECONDS: '1' })

  it('the connection drops mid-run: it reconnects after the last seq seen, nothing lost or doubled', async () => {
    const { mock, gw } = shared
    mock.script(
      { kind: 'exec_command', cmd: 'echo one' },
      { kind: 'exec_command', cmd: 'echo two' },
      { kind: 'text', text: 'finished' },
    )
    const lastEventIds: (string | null)[] = []
    // The first connection breaks after its second SSE frame, as a lost network would break it.
    const flaky: typeof fetch = async (input, init) => {
      const res = await fetch(input, init)
      if (!String(input instanceof Request ? input.url : input).endsWith('/events')) return res
      lastEventIds.push(new Headers(init?.headers).get('last-event-id'))
      if (lastEventIds.length > 1 || !res.body) return res
      const reader = res.body.getReader()
      let frames = 0
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read()
          if (done) return controller.close()
          controller.enqueue(value)
          frames += new TextDecoder().decode(value).split('\n\n').length - 1
          if (frames >= 2) {
            await reader.cancel()
            controller.error(new TypeError('network connection lost'))
          }
        },
      })
      return new Response(body, { status: res.status, headers: res.headers })
    }
    const client = createClient({ baseUrl: gw.url, fetch: flaky })
    const { data: run } = await client.api.POST('/v1/runs', {
      body: { prompt: 'several steps', sandbox: 'workspace-write' },
    })
    if (!run || !('id' in run)) throw new Error('no run')
    const reconnects: number[] = []
    let connected = 0
    const seen: StoredEvent[] = []
    for await (const ev of client.runEvents(run.id, {
      retryMs: 50,
      onReconnect: (seq) => reconnects.push(seq),
      onConnected: () => connected++,
    }))
      seen.push(ev)
    expect(reconnects.length).toBeGreaterThanOrEqual(1)
    // told of each connection the server accepted: the first and every reconnect
    expect(connected).toBe(lastEventIds.length)
    expect(lastEventIds[0]).toBeNull()
    expect(lastEventIds[1]).toBe(String(reconnects[0]))
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1))
    expect(seen.at(-1)?.type).toBe('run.completed')
    const stored = await fetch(`${gw.url}/v1/runs/${run.id}`).then(
      (r) => r.json() as Promise<{ lastSeq: number }>,
    )
    expect(seen.length).toBe(stored.lastSeq)
  })

  it('a connection gone silent mid-run (no FIN, no RST): past 2.5x the announced keep-alive it reconnects after the last seq seen, each event once', async () => {
    const { mock, gw } = shared
    const proxy = await startCuttingProxy(gw.url)
    const dir = mkdtempSync(path.join(tmpdir(), 'ag-silent-'))
    onTestFinished(async () => {
      await proxy.close()
      rmSync(dir, { recursive: true, force: true })
    })
    const go = path.join(dir, 'go')
    mock.script(
      { kind: 'exec_command', cmd: `until [ -e ${go} ]; do sleep 0.05; done; echo after-the-silence` },
      { kind: 'text', text: 'finished' },
    )
    const lastEventIds: (string | null)[] = []
    const recording: typeof fetch = (input, init) => {
      lastEventIds.push(new Headers(init?.headers).get('last-event-id'))
      return fetch(input, init)
    }
    const { data: run } = await createClient({ baseUrl: gw.url }).api.POST('/v1/runs', {
      body: { prompt: 'wait for the file', sandbox: 'workspace-write' },
    })
    if (!run || !('id' in run)) throw new Error('no run')
    const silences: unknown[] = []
    const reconnects: number[] = []
    const seen: StoredEvent[] = []
    const client = createClient({ baseUrl: proxy.url, fetch: recording })
    let stalled = 0
    for await (const ev of client.runEvents(run.id, {
      retryMs: 50,
      onReconnect: (seq, err) => {
        reconnects.push(seq)
        if (err instanceof SilentStreamError) silences.push(err)
      },
    })) {
      seen.push(ev)
      // the command waits for the file: the network goes silent, then the run goes on (its events unheard)
      if (ev.type === 'item.started' && ev.item.type === 'command_execution' && !stalled) {
        stalled = proxy.stall()
        writeFileSync(go, '')
      }
    }
    expect(stalled).toBe(1)
    expect(silences).toHaveLength(1)
    expect(reconnects).toHaveLength(1)
    expect(lastEventIds).toEqual([null, String(reconnects[0])])
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1))
    expect(seen.at(-1)?.type).toBe('run.completed')
    expect(JSON.stringify(seen)).toContain('after-the-silence')
    const stored = await fetch(`${gw.url}/v1/runs/${run.id}`).then(
      (r) => r.json() as Promise<{ lastSeq: number }>,
    )
    expect(seen.length).toBe(stored.lastSeq)
  })

  it('a finished run followed from past its end, and an archived session, end; one clean end alone is tried again', async () => {
    const { gw } = shared
    const client = createClient({ baseUrl: gw.url })
    const { data: runs } = await client.api.GET('/v1/runs', { params: { query: { limit: 1 } } })
    const run = runs!.runs[0]!
    let connections = 0
    const follow = async <T>(events: AsyncGenerator<T>) => {
      const seen: T[] = []
      for await (const ev of events) seen.push(ev)
      return seen
    }
    // the server ends at once twice (nothing after the end): the follow ends, having tried once more
    const past = await follow(
      client.runEvents(run.id, { after: run.lastSeq, retryMs: 10, onConnected: () => connections++ }),
    )
    expect(past).toEqual([])
    expect(connections).toBe(2)
    const { data: session } = await client.api.POST('/v1/sessions', { body: {} })
    await client.api.POST('/v1/sessions/{id}/archive', { params: { path: { id: session!.id } } })
    const events = await follow(client.sessionEvents(session!.id, { retryMs: 10 }))
    expect(events.at(-1)).toMatchObject({ type: 'session.status', status: 'archived' })
  })

  it('an HTTP error is thrown with its status and body, not retried', async () => {
    const client = createClient({ baseUrl: shared.gw.url })
    const follow = client.runEvents('run_does_not_exist')
    await expect(follow.next()).rejects.toMatchObject({ name: 'ApiError', status: 404 })
  })
})
