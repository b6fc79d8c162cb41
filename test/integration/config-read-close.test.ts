import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { AcpLeases } from '../../src/agents/acp/session-leases.js'
import { CodexDriver } from '../../src/agents/codex/driver.js'
import { loadConfig } from '../../src/config/load.js'
import { localRunner } from '../../src/process/local-runner.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv } from '../support/gateway.js'
import { killAll, type ProcInfo, processesUnder } from '../support/processes.js'

/**
 * codex's `include_only` for a cwd is read (`config/read`) through a codex app-server started for that one read
 * when none is kept running (codex-acp; `codex exec` with warm runs off). The driver's close, the gateway's stop,
 * once left such an app-server running; now it ends it: none is left once the close resolved. The real codex.
 */
let mock: MockLlm
beforeAll(async () => {
  mock = await startMockLlm()
})
afterAll(async () => {
  await mock?.close()
})

/** Polls /proc until `find` sees a process (the app-server was spawned), at most 20 s. */
async function appearing(find: () => ProcInfo[]): Promise<ProcInfo[]> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const found = find()
    if (found.length > 0 || Date.now() > deadline) return found
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function setUp(overrides: Record<string, string> = {}) {
  const made = gatewayEnv(mock, overrides)
  const data = made.env.DATA_DIR as string
  mkdirSync(data, { recursive: true })
  const cwd = path.join(made.workspace, 'project')
  mkdirSync(cwd, { recursive: true })
  const appServers = () => processesUnder(data).filter((p) => p.cmd.includes('app-server'))
  return { config: loadConfig(made.env, made.dir), env: made.env, cwd, appServers }
}

describe("a close while a config/read's own app-server runs ends it", () => {
  it('codex-acp (AcpLeases.close)', { timeout: 60_000 }, async () => {
    const { config, env, cwd, appServers } = setUp()
    const leases = new AcpLeases(config, acpPreset('codex-acp'), env, localRunner)
    try {
      const launching = leases.launch({ prompt: 'x', cwd })
      expect(await appearing(appServers)).not.toEqual([])
      await leases.close()
      expect(appServers()).toEqual([])
      // the read failed: no include_only for this cwd (the launch itself is not refused)
      expect((await launching).args.join(' ')).not.toMatch(/include_only/)
    } finally {
      killAll(appServers())
    }
  })

  it('codex with warm runs off (CodexDriver.close)', { timeout: 60_000 }, async () => {
    const { config, env, cwd, appServers } = setUp({ CODEX_WARM_RUNS: 'false' })
    const driver = new CodexDriver(config, env)
    try {
      const reading = driver.includeOnly.keepingMarkers(cwd)
      expect(await appearing(appServers)).not.toEqual([])
      await driver.close()
      expect(appServers()).toEqual([])
      expect(await reading).toBeUndefined()
    } finally {
      killAll(appServers())
    }
  })

  // the app-server side of the driver loads with its first session (app-server-engine.ts): a close meanwhile ends
  // what it was to start, and the session fails as one on a closed app-server does
  it('codex, closed while its first session loads the app-server engine (CodexDriver.close)', {
    timeout: 60_000,
  }, async () => {
    const { config, env, cwd, appServers } = setUp()
    const driver = new CodexDriver(config, env)
    try {
      const opening = driver.openSession({ cwd }, { requestApproval: async () => 'decline' })
      await driver.close()
      await expect(opening).rejects.toThrow(/closed/)
      expect(driver.appServerPid).toBeUndefined()
      expect(appServers()).toEqual([])
    } finally {
      killAll(appServers())
    }
  })
})
