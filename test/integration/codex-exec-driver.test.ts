import { existsSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { CodexExecDriver } from '../../src/agents/codex/exec-driver.js'
import { loadConfig } from '../../src/config/load.js'
import { agentEvent } from '../../src/protocol/events.js'
import { collect, completionOf, describeDriverContract } from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { enablePlanTool, twoStepPlan } from '../support/codex-plan.js'
import { gatewayEnv, testApiKey } from '../support/gateway.js'
import { tempDir } from '../support/temp.js'

function codexDriver(mock: MockLlm, overrides: Record<string, string | undefined> = {}) {
  const { env, dir } = gatewayEnv(mock, overrides)
  return new CodexExecDriver(loadConfig(env, dir), env)
}

describeDriverContract('codex-exec', {
  create: (mock) => codexDriver(mock),
  createMissing: (mock) => codexDriver(mock, { CODEX_PATH: '/nonexistent/codex' }),
  writableRequest: { sandbox: 'workspace-write' },
})

describe('codex-exec specifics', () => {
  it('passes the provider as -c overrides and the key only through the env', async () => {
    const mock = await startMockLlm()
    try {
      const driver = codexDriver(mock)
      const args = driver.buildArgs({ prompt: 'x', cwd: '/tmp' })
      expect(args.join(' ')).toContain(`base_url="${mock.baseUrl}"`)
      expect(args.join(' ')).not.toContain(testApiKey)
      expect(args).toContain('--skip-git-repo-check')
      // read-only by default, under codex's own sandbox (CODEX_CONFINE_READS is opt-in)
      expect(args.slice(args.indexOf('--sandbox'), args.indexOf('--sandbox') + 2)).toEqual([
        '--sandbox',
        'read-only',
      ])
      mock.script({ kind: 'text', text: 'keyed' })
      await collect(driver.run({ prompt: 'check the key', cwd: tempDir() }, new AbortController().signal))
      expect(mock.requests[0]?.headers.authorization).toBe(`Bearer ${testApiKey}`)
    } finally {
      await mock.close()
    }
  })

  it('the read-only default sandbox stops a command from writing', async () => {
    const mock = await startMockLlm()
    try {
      const workspace = tempDir()
      mock.script({ kind: 'exec_command', cmd: 'echo nope > blocked.txt' }, { kind: 'text', text: 'tried' })
      const events = await collect(
        codexDriver(mock).run({ prompt: 'try to write', cwd: workspace }, new AbortController().signal),
      )
      // codex does not always report a command the sandbox refused as an item; the model does get the result back.
      expect(completionOf(events).status).toBe('succeeded')
      expect(mock.requests.length).toBe(2)
      expect(existsSync(path.join(workspace, 'blocked.txt'))).toBe(false)
    } finally {
      await mock.close()
    }
  })

  it("the model's plan (update_plan) is a todo_list item, updated only when it changed", async () => {
    const mock = await startMockLlm()
    try {
      const { env, dir } = gatewayEnv(mock)
      enablePlanTool(env.CODEX_HOME!)
      mock.script(
        { kind: 'update_plan', plan: twoStepPlan('in_progress') },
        { kind: 'update_plan', plan: twoStepPlan('in_progress') },
        { kind: 'update_plan', plan: twoStepPlan('completed') },
        { kind: 'text', text: 'planned' },
      )
      const driver = new CodexExecDriver(loadConfig(env, dir), env)
      const events = await collect(
        driver.run({ prompt: 'make a plan', cwd: tempDir() }, new AbortController().signal),
      )
      expect(completionOf(events).status).toBe('succeeded')
      const plans = events.flatMap((e) =>
        (e.type === 'item.started' || e.type === 'item.updated' || e.type === 'item.completed') &&
        e.item.type === 'todo_list'
          ? [{ type: e.type, done: e.item.items.map((i) => i.completed) }]
          : [],
      )
      expect(plans).toEqual([
        { type: 'item.started', done: [false, false] },
        { type: 'item.updated', done: [true, false] },
        { type: 'item.completed', done: [true, false] },
      ])
    } finally {
      await mock.close()
    }
  })

  it('a requested model that spells an option reaches the model as given', async () => {
    const mock = await startMockLlm()
    try {
      const model = '--dangerously-bypass-approvals-and-sandbox'
      mock.script({ kind: 'text', text: 'as named' })
      const events = await collect(
        codexDriver(mock).run({ prompt: 'x', cwd: tempDir(), model }, new AbortController().signal),
      )
      expect(completionOf(events).status).toBe('succeeded')
      expect((mock.requests[0]?.body as { model?: string } | undefined)?.model).toBe(model)
    } finally {
      await mock.close()
    }
  })

  it('reports the agent thread id and usage', async () => {
    const mock = await startMockLlm()
    try {
      mock.script({ kind: 'text', text: 'usage please' })
      const events = await collect(
        codexDriver(mock).run({ prompt: 'u', cwd: tempDir() }, new AbortController().signal),
      )
      const session = events.find((e) => e.type === 'agent.session')
      expect(session).toMatchObject({ agent: 'codex-exec', agentSessionId: expect.any(String) })
      const done = completionOf(events)
      expect(done.usage?.outputTokens).toBeGreaterThan(0)
      for (const ev of events) expect(agentEvent.safeParse(ev).success).toBe(true)
    } finally {
      await mock.close()
    }
  })

  it('probe says what to do when no credentials are configured', async () => {
    const { env, dir } = gatewayEnv(null)
    const status = await new CodexExecDriver(loadConfig(env, dir), env).probe()
    expect(status.installed).toBe(true)
    expect(status.authenticated).toBe(false)
    expect(status.hint).toMatch(/CODEX_API_KEY/)
  })
})
