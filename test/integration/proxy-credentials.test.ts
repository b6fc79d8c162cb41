import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  gatewayModules,
  mockAgentSettings,
  postJson,
  readNdjson,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'

const password = 'proxy-pass-7f3a91c4'
const proxy = `http://proxyuser:${password}@127.0.0.1:9`

gatewayModules()

/**
 * An egress proxy with credentials in its URL (HTTPS_PROXY=http://user:password@host), which agents get from
 * the server's env: its password is a secret of the gateway like a provider key. The model makes each agent
 * run `env`: neither what the model got back nor the stored events hold it.
 */
describe('an egress proxy password never reaches a command, the model or the store', () => {
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      ALLOW_DANGER_FULL_ACCESS: 'true',
      HTTPS_PROXY: proxy,
      HTTP_PROXY: proxy,
      https_proxy: proxy,
      NO_PROXY: '127.0.0.1,localhost',
      ...mockAgentSettings(mock, {
        anthropic: 'anthropic-key-5f1e9a',
        gemini: 'gemini-key-7c2d41',
        copilot: 'copilot-key-3b9a07',
      }),
    })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  // claude's Bash needs danger-full-access (headless, nothing approves it), gemini's shell workspace-write
  for (const [agent, sandbox] of [
    ['codex', 'workspace-write'],
    ['claude', 'danger-full-access'],
    ['gemini', 'workspace-write'],
    ['copilot', 'workspace-write'],
  ] as const)
    it(agent, { timeout: 60_000 }, async () => {
      mock.reset()
      mock.script({ kind: 'exec_command', cmd: 'env' }, { kind: 'text', text: 'done' })
      const res = await postJson(`${gw.url}/v1/runs?wait=true`, { agent, prompt: 'print the env', sandbox })
      const run = (await res.json()) as Run
      expect(res.status, JSON.stringify(run)).toBe(200)
      const events = (await readNdjson(
        await fetch(`${gw.url}/v1/runs/${run.id}/events`, { headers: { accept: 'application/x-ndjson' } }),
      )) as StoredEvent[]
      const ran = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
      expect(JSON.stringify(ran), JSON.stringify(events)).toContain('PATH=')
      expect(JSON.stringify(events)).not.toContain(password)
      expect(JSON.stringify(mock.requests.map((r) => r.body))).not.toContain(password)
    })
})
