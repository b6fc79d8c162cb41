import { afterAll, beforeAll, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { AcpDriver } from '../../src/agents/acp/driver.js'
import { loadConfig } from '../../src/config/load.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { expectCancelEndsEscaped } from '../support/escaped-commands.js'
import { gatewayEnv } from '../support/gateway.js'
import { killAll, processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

// codex-acp builds its commands' environment from codex's shell_environment_policy, like codex: with an
// operator's `inherit = "none"` the marker its process inherited would not reach them, and a command that
// escaped the warm agent's tree would outlive its run. The marker travels in the policy's `set` instead.

let mock: MockLlm
let warm: AcpDriver
let data: string

beforeAll(async () => {
  mock = await startMockLlm()
  // commands need a PATH when nothing is inherited: the operator sets one (a `set` table of its own)
  const { env, dir } = gatewayEnv(mock, {
    CODEX_CONFIG_OVERRIDES:
      'shell_environment_policy.inherit="none";shell_environment_policy.set={PATH="/usr/local/bin:/usr/bin:/bin"}',
  })
  warm = new AcpDriver(loadConfig(env, dir), acpPreset('codex-acp'), env)
  data = env.DATA_DIR ?? dir
})
afterAll(async () => {
  await warm?.close()
  await mock?.close()
  expect(await waitUntilGone(() => processesUnder(data))).toEqual([])
})

it('with inherit = "none", a command that escaped the warm codex-acp process ends with its cancelled run', {
  timeout: 120_000,
}, async () => {
  const workspace = tempDir('acp-policy-ws-')
  const arg = `${3000 + Math.floor(Math.random() * 6000)}.${process.pid}`
  const escaped = () => processesUnder(workspace).filter((p) => p.cmd === `sleep ${arg}`)
  try {
    // no sandbox: the double fork reaches init (in bwrap's pid namespace it would die with the namespace)
    mock.script(
      { kind: 'exec_command', cmd: `(setsid sleep ${arg} </dev/null >/dev/null 2>&1 &); sleep 31` },
      { kind: 'text', text: 'never' },
    )
    await expectCancelEndsEscaped(
      (signal) => warm.run({ prompt: 'escape', cwd: workspace, sandbox: 'danger-full-access' }, signal),
      escaped,
    )
    // the warm process serves on
    expect(warm.sharedProcesses).toBeGreaterThan(0)
  } finally {
    killAll(escaped())
  }
})
