import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { AcpDriver } from '../../src/agents/acp/driver.js'
import { AcpLeases } from '../../src/agents/acp/session-leases.js'
import { loadConfig } from '../../src/config/load.js'
import { localRunner } from '../../src/process/local-runner.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { expectCancelEndsEscaped } from '../support/escaped-commands.js'
import { gatewayEnv } from '../support/gateway.js'
import { killAll, processesUnder, waitUntilGone } from '../support/processes.js'

// codex-acp is codex: a trusted project's `.codex/config.toml` may set an `include_only` that would drop the
// marker from the commands of a session there, and a command that escaped the warm codex-acp process would
// outlive its run. The gateway reads codex's include_only for the cwd (config/read through a short-lived
// app-server, closed after it) and starts codex-acp with it, the markers' names added, as `-c`.
// (The launch shows what it is given. codex-acp's commands did not show the project's list reliably while its
// shell snapshot, which re-exported codex-acp's whole environment into most commands, was on: launch.ts.)

let mock: MockLlm
let warm: AcpDriver
let data: string
let workspace: string
let codexHome: string
let leases: AcpLeases

beforeAll(async () => {
  mock = await startMockLlm()
  const made = gatewayEnv(mock)
  const config = loadConfig(made.env, made.dir)
  warm = new AcpDriver(config, acpPreset('codex-acp'), made.env)
  leases = new AcpLeases(config, acpPreset('codex-acp'), made.env, localRunner)
  data = made.env.DATA_DIR ?? made.dir
  workspace = made.workspace
  codexHome = made.env.CODEX_HOME as string
})
afterAll(async () => {
  await warm?.close()
  await mock?.close()
  expect(await waitUntilGone(() => processesUnder(data))).toEqual([])
})

/** A project directory in the workspace that codex trusts, its config keeping only PATH. */
function trustedProject(name: string): string {
  const cwd = path.join(workspace, name)
  mkdirSync(path.join(cwd, '.codex'), { recursive: true })
  writeFileSync(path.join(cwd, '.codex', 'config.toml'), 'shell_environment_policy.include_only = ["PATH"]\n')
  appendFileSync(
    path.join(codexHome, 'config.toml'),
    `\n[projects.${JSON.stringify(cwd)}]\ntrust_level = "trusted"\n`,
  )
  return cwd
}

const appServers = () => processesUnder(data).filter((p) => p.cmd.includes('app-server'))

it("codex-acp in a trusted project keeping only PATH is started with that list and the markers' names", {
  timeout: 60_000,
}, async () => {
  const cwd = trustedProject('project-launch')
  const plain = path.join(workspace, 'plain')
  mkdirSync(plain, { recursive: true })
  const launch = await leases.launch({ prompt: 'x', cwd })
  expect(launch.args).toContain(
    'shell_environment_policy.include_only=["PATH","AGENT_GATEWAY_APP_SERVER","AGENT_GATEWAY_THREAD","AGENT_GATEWAY_SERVER"]',
  )
  // the override goes after the operator's overrides (the last -c of a key wins)
  expect(launch.args.at(-1)).toMatch(/^shell_environment_policy\.include_only=/)
  // a directory without such a config gets none, and the read left no app-server running
  expect((await leases.launch({ prompt: 'x', cwd: plain })).args.join(' ')).not.toMatch(/include_only/)
  expect(appServers()).toEqual([])
})

it('a trusted project keeping only PATH: the commands carry the marker, what escaped ends with the run', {
  timeout: 120_000,
}, async () => {
  const arg = `${3000 + Math.floor(Math.random() * 6000)}.${process.pid}`
  const cwd = trustedProject(`project-${arg}`)
  const escaped = () => processesUnder(cwd).filter((p) => p.cmd === `sleep ${arg}`)
  try {
    mock.script(
      {
        kind: 'exec_command',
        cmd: `env > env.txt; (setsid sleep ${arg} </dev/null >/dev/null 2>&1 &); sleep 31`,
      },
      { kind: 'text', text: 'never' },
    )
    await expectCancelEndsEscaped(
      (signal) => warm.run({ prompt: 'escape', cwd, sandbox: 'danger-full-access' }, signal),
      escaped,
    )
    expect(readFileSync(path.join(cwd, 'env.txt'), 'utf8')).toMatch(/^AGENT_GATEWAY_APP_SERVER=\S/m)
    expect(appServers()).toEqual([])
  } finally {
    killAll(escaped())
  }
})
