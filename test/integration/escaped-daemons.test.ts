import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
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
import { killAll, listProcesses, type ProcInfo, waitUntilGone } from '../support/processes.js'

gatewayModules()

/**
 * A one-shot run whose command starts a daemon (a double fork into a session of its own, under `nohup`): it
 * leaves the agent's process group, so the group kill at the run's end misses it, and it must still end with
 * the run. Every agent runs its commands outside codex's sandbox here (bwrap's pid namespace would end it).
 */
describe('a daemon started by a run ends with the run', () => {
  let mock: MockLlm
  let gw: TestGateway
  const left: ProcInfo[] = []
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      ALLOW_DANGER_FULL_ACCESS: 'true',
      ...mockAgentSettings(mock, {
        anthropic: 'anthropic-key-5f1e9a',
        gemini: 'gemini-key-7c2d41',
        copilot: 'copilot-key-3b9a07',
      }),
    })
  })
  afterEach(() => killAll(left.splice(0)))
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  // gemini's shell needs workspace-write, claude's Bash danger-full-access (headless, nothing to approve it)
  for (const [agent, sandbox] of [
    ['codex', 'danger-full-access'],
    ['claude', 'danger-full-access'],
    ['gemini', 'workspace-write'],
    ['copilot', 'workspace-write'],
  ] as const)
    it(`${agent}`, { timeout: 120_000 }, async () => {
      const tag = `${31_000 + Math.floor(Math.random() * 9000)}.${process.pid}`
      mock.reset()
      mock.script(
        {
          kind: 'exec_command',
          cmd: `(setsid nohup sleep ${tag} </dev/null >/dev/null 2>&1 &); echo started`,
        },
        { kind: 'text', text: 'done' },
      )
      const daemon = () => listProcesses().filter((p) => p.cmd === `sleep ${tag}`)
      try {
        const res = await postJson(`${gw.url}/v1/runs?wait=true`, { agent, prompt: 'start it', sandbox })
        const run = (await res.json()) as Run
        expect(res.status, JSON.stringify(run)).toBe(200)
        const events = (await readNdjson(
          await fetch(`${gw.url}/v1/runs/${run.id}/events`, { headers: { accept: 'application/x-ndjson' } }),
        )) as StoredEvent[]
        const ran = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
        expect(JSON.stringify(ran), JSON.stringify(events)).toContain('started')
        expect(await waitUntilGone(daemon)).toEqual([])
      } finally {
        left.push(...daemon())
      }
    })
})
