import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest'
import { AppServerHost } from '../../src/agents/codex-app-server/app-server-host.js'
import type { ThreadSettings } from '../../src/agents/codex-app-server/thread-settings.js'
import { loadConfig } from '../../src/config/load.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, testModel } from '../support/gateway.js'

// The host knows which threads the real codex app-server has loaded. `initialize` opts out of
// `thread/status/changed` (opted-out-notifications.ts), so a thread codex unloads is known by `thread/closed`
// (unsubscribed) or `thread/archived`: here codex unloads threads the host did not let go of itself.

let mock: MockLlm
let host: AppServerHost
let settings: ThreadSettings

beforeAll(async () => {
  mock = await startMockLlm()
})
afterAll(async () => {
  await mock?.close()
})
beforeEach(() => {
  const { env, dir, workspace } = gatewayEnv(mock)
  host = new AppServerHost({
    config: loadConfig(env, dir),
    serverEnv: env,
    clientName: 'agent_gateway_test',
    cwd: workspace,
  })
  settings = { cwd: workspace, model: testModel, sandbox: 'read-only' }
})
afterEach(async () => {
  await host.close()
  mock.reset()
})

/** Every notification the host routes to the thread, and a wait for the first of `method`. */
function follow(threadId: string) {
  const methods: string[] = []
  const waiters = new Map<string, () => void>()
  host.listen(threadId, {
    notification: (method) => {
      methods.push(method)
      waiters.get(method)?.()
    },
    request: async () => null,
    exit: () => {},
  })
  const next = (method: string) => new Promise<void>((resolve) => waiters.set(method, resolve))
  return { methods, next }
}

it('a thread codex unloads (unsubscribed by another caller) is no longer loaded; it is resumed before its next turn', async () => {
  mock.script({ kind: 'text', text: 'before' }, { kind: 'text', text: 'after' })
  const { threadId } = await host.startThread(settings)
  const thread = follow(threadId)
  const turn = async () => {
    const completed = thread.next('turn/completed')
    await host.request('turn/start', { threadId, input: [{ type: 'text', text: 'hi', text_elements: [] }] })
    await completed
  }
  await turn()
  expect(host.isLoaded(threadId)).toBe(true)

  // not the host's letGo (which forgets the thread before it asks): codex unloads it under the host
  const closed = thread.next('thread/closed')
  await host.request('thread/unsubscribe', { threadId })
  await closed
  expect(host.isLoaded(threadId)).toBe(false)

  await host.ensureLoaded(threadId, settings)
  expect(host.isLoaded(threadId)).toBe(true)
  await turn()
  expect(mock.requests).toHaveLength(2)
  expect(thread.methods).not.toContain('thread/status/changed')
}, 60_000)

it('a thread codex archives is no longer loaded', async () => {
  const { threadId } = await host.startThread(settings)
  const thread = follow(threadId)
  expect(host.isLoaded(threadId)).toBe(true)
  const archived = thread.next('thread/archived')
  await host.request('thread/archive', { threadId })
  await archived
  expect(host.isLoaded(threadId)).toBe(false)
  expect(thread.methods).not.toContain('thread/status/changed')
}, 60_000)
