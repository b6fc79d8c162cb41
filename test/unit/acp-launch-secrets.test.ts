import { describe, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { acpLaunch } from '../../src/agents/acp/launch.js'
import { loadConfig } from '../../src/config/load.js'
import { isSecretName, secretNamesIn } from '../../src/process/secrets.js'
import { serverEnvWithKeys } from '../support/secret-env.js'
import { tempDir } from '../support/temp.js'

/**
 * How each kind of ACP agent keeps the gateway's secrets from the commands it runs (acp-secrets.test.ts runs
 * them): codex-acp by codex's policy without a shell snapshot, claude-agent-acp by the scrubbing shell prefix,
 * a custom agent by getting no secret at all.
 */
const dir = tempDir('acp-launch-')
const serverEnv = serverEnvWithKeys(dir, {
  API_TOKENS: 'gw-api-token-3a4b5c6d',
  FOO_SECRET: 'foo-secret-value-7e8f9a0b',
  BAR_TOKEN: 'bar-token-value-1c2d3e4f',
})
const config = loadConfig(serverEnv, dir)
const launchOf = (spec: ReturnType<typeof acpPreset>) =>
  acpLaunch({ ...spec, command: spec.command ?? '/bin/true' }, config, serverEnv, { cwd: dir })

describe('ACP agents keep secrets from their commands', () => {
  it('codex-acp: its commands exclude every secret name, and no shell snapshot brings them back', () => {
    const launch = launchOf(acpPreset('codex-acp'))
    expect(launch.env.CODEX_API_KEY).toBe(serverEnv.CODEX_API_KEY)
    const overrides = launch.args.filter((_, i) => launch.args[i - 1] === '-c')
    expect(overrides).toContain('features.shell_snapshot=false')
    const exclude = overrides.find((o) => o.startsWith('shell_environment_policy.exclude='))
    for (const name of secretNamesIn(launch.env)) expect(exclude).toContain(`"${name}"`)
  })

  it('claude-agent-acp: every secret name of its env is unset by the shell prefix of its commands', () => {
    const { env } = launchOf(acpPreset('claude-agent-acp'))
    expect(env.ANTHROPIC_API_KEY).toBe(serverEnv.ANTHROPIC_API_KEY)
    expect(env.CLAUDE_CODE_SHELL_PREFIX).toMatch(/agw-scrubbed-shell$/)
    expect(env.AGW_SCRUB_ENV?.split(' ').sort()).toEqual(secretNamesIn(env).sort())
  })

  it('a custom agent (ACP_AGENTS) gets no secret-named variable and no secret value', () => {
    const { env } = launchOf({
      name: 'shell',
      command: '/bin/true',
      args: [],
      flavor: 'custom',
      version: null,
    })
    expect(Object.keys(env).filter(isSecretName)).toEqual([])
    const values = Object.values(env).join('\n')
    for (const [name, value] of Object.entries(serverEnv))
      if (isSecretName(name)) expect(values).not.toContain(value)
  })
})
