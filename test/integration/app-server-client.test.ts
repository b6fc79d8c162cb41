import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { AppServerProcess } from '../../src/agents/codex-app-server/app-server-process.js'
import { RpcClosedError } from '../../src/agents/codex-app-server/rpc-errors.js'
import { loadConfig } from '../../src/config/load.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, testApiKey, testModel } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'

// The real pinned `codex app-server` against the mock model, through AppServerProcess.

interface Notification {
  method: string
  params: unknown
}

const threadStarted = z.object({ thread: z.object({ id: z.string() }) })
const turnStarted = z.object({ turn: z.object({ id: z.string(), status: z.string() }) })
const itemParams = z.object({ item: z.looseObject({ type: z.string(), text: z.string().optional() }) })
const deltaParams = z.object({ delta: z.string() })
const turnCompleted = z.object({
  threadId: z.string(),
  turn: z.object({ id: z.string(), status: z.string() }),
})

function client(mock: MockLlm | null, overrides: Record<string, string | undefined> = {}) {
  const { env, dir, workspace } = gatewayEnv(mock, overrides)
  const config = loadConfig(env, dir)
  const appServer = new AppServerProcess({
    config,
    serverEnv: env,
    clientName: 'agent_gateway_test',
    cwd: workspace,
  })
  return { appServer, workspace, config }
}

/** Resolves with the first collected notification that matches, polling the list. */
async function waitFor(list: Notification[], match: (n: Notification) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = list.find(match)
    if (found) return found
    if (Date.now() > deadline)
      throw new Error(`no matching notification; got ${list.map((n) => n.method).join(', ')}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('codex app-server client', () => {
  let mock: MockLlm
  let c: ReturnType<typeof client>
  let notifications: Notification[]

  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterAll(async () => {
    await mock?.close()
  })
  beforeEach(() => {
    c = client(mock)
    notifications = []
    c.appServer.onNotification((method, params) => notifications.push({ method, params }))
  })
  afterEach(async () => {
    await c.appServer.close()
    mock.reset()
  })

  it('initializes, starts a thread, and runs a turn to turn/completed with the scripted answer', async () => {
    const info = await c.appServer.start()
    expect(info.codexHome).toBe(c.config.CODEX_HOME)
    expect(info.userAgent).toContain('agent_gateway_test')

    const started = threadStarted.parse(
      await c.appServer.request('thread/start', { cwd: c.workspace, model: testModel }),
    )
    const threadId = started.thread.id
    expect(threadId).toMatch(/^[0-9a-f-]{36}$/)

    const text = 'Hello from the app-server mock.'
    mock.on('say hello', { kind: 'text', text, deltas: true })
    const turn = turnStarted.parse(
      await c.appServer.request('turn/start', {
        threadId,
        input: [{ type: 'text', text: 'please say hello', text_elements: [] }],
      }),
    )
    expect(turn.turn.status).toBe('inProgress')

    const done = turnCompleted.parse(
      (await waitFor(notifications, (n) => n.method === 'turn/completed')).params,
    )
    expect(done).toMatchObject({ threadId, turn: { id: turn.turn.id, status: 'completed' } })
    const messages = notifications
      .filter((n) => n.method === 'item/completed')
      .map((n) => itemParams.parse(n.params).item)
      .filter((item) => item.type === 'agentMessage')
    expect(messages.map((m) => m.text)).toEqual([text])
    const deltas = notifications.filter((n) => n.method === 'item/agentMessage/delta')
    expect(deltas.map((n) => deltaParams.parse(n.params).delta).join('')).toBe(text)
    const order = notifications.map((n) => n.method)
    expect(order.indexOf('turn/started')).toBeLessThan(order.indexOf('item/agentMessage/delta'))

    expect(mock.requests).toHaveLength(1)
    expect(mock.lastUserText(mock.requests[0]!)).toBe('please say hello')
    expect(mock.requests[0]!.headers.authorization).toBe(`Bearer ${testApiKey}`)
  })

  it('the notifications the gateway opted out of never arrive: a thread, its turn, a fork and its turn', async () => {
    mock.script({ kind: 'text', text: 'first' }, { kind: 'text', text: 'forked' })
    const threadId = threadStarted.parse(
      await c.appServer.request('thread/start', { cwd: c.workspace, model: testModel }),
    ).thread.id
    const runTurn = async (id: string, text: string) => {
      const turn = turnStarted.parse(
        await c.appServer.request('turn/start', {
          threadId: id,
          input: [{ type: 'text', text, text_elements: [] }],
        }),
      )
      await waitFor(
        notifications,
        (n) => n.method === 'turn/completed' && turnCompleted.parse(n.params).turn.id === turn.turn.id,
      )
    }
    await runTurn(threadId, 'one')
    const fork = threadStarted.parse(await c.appServer.request('thread/fork', { threadId })).thread.id
    await runTurn(fork, 'two')
    // codex writes in order: what it sent about the thread, the fork and both turns came before the fork's end
    const methods = new Set(notifications.map((n) => n.method))
    for (const unused of [
      'thread/started',
      'thread/readState/changed',
      'account/rateLimits/updated',
      'thread/status/changed',
    ])
      expect(methods).not.toContain(unused)
    // the ones the gateway reads still come
    for (const used of [
      'turn/started',
      'item/started',
      'item/completed',
      'thread/tokenUsage/updated',
      'turn/completed',
    ])
      expect(methods).toContain(used)
    expect(notifications.filter((n) => n.method === 'turn/completed')).toHaveLength(2)
  })

  it('a killed app-server rejects pending requests with the reason; the next request starts a new one', async () => {
    await c.appServer.start()
    const firstPid = c.appServer.pid!
    // command/exec answers only when its command exits: a request that is reliably still pending
    // (unsandboxed, so it does not depend on bubblewrap working on this machine)
    const pending = c.appServer.request('command/exec', {
      command: ['sleep', '20'],
      cwd: c.workspace,
      timeoutMs: 15_000,
      sandboxPolicy: { type: 'dangerFullAccess' },
    })
    const failure = pending.catch((err: unknown) => err)
    await new Promise((r) => setTimeout(r, 300))
    process.kill(firstPid, 'SIGKILL')

    const err = await failure
    expect(err).toBeInstanceOf(RpcClosedError)
    expect((err as Error).message).toMatch(/^codex app-server was killed by SIGKILL/)

    const again = threadStarted.parse(await c.appServer.request('thread/start', { cwd: c.workspace }))
    expect(again.thread.id).toEqual(expect.any(String))
    expect(c.appServer.pid).toBeGreaterThan(0)
    expect(c.appServer.pid).not.toBe(firstPid)
  })

  it('close() ends the process group and later calls fail', async () => {
    await c.appServer.start()
    expect(processesUnder(c.workspace).length).toBeGreaterThan(0)
    await c.appServer.close()
    expect(await waitUntilGone(() => processesUnder(c.workspace))).toEqual([])
    expect(c.appServer.pid).toBeUndefined()
    await expect(c.appServer.request('thread/start', {})).rejects.toThrow('codex app-server was closed')
  })

  it('a JSON-RPC error from the server rejects with its message', async () => {
    await expect(c.appServer.request('thread/read', { threadId: 'not-a-thread' })).rejects.toThrow(
      /^codex app-server: thread\/read failed \(-32600\): invalid thread id/,
    )
  })
})

describe('codex app-server client without codex', () => {
  it('fails with agent_not_installed and starts nothing', async () => {
    const { appServer } = client(null, { CODEX_PATH: '/nonexistent/codex' })
    await expect(appServer.start()).rejects.toMatchObject({ code: 'agent_not_installed' })
    expect(appServer.pid).toBeUndefined()
    await appServer.close()
  })
})
