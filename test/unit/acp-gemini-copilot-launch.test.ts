import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { acpAgentSpecs, acpPreset } from '../../src/agents/acp/agent-spec.js'
import { acpLaunch } from '../../src/agents/acp/launch.js'
import { acpStatus } from '../../src/agents/acp/probe.js'
import { sandboxApprovals } from '../../src/agents/acp/sandbox-approvals.js'
import { GeminiDriver } from '../../src/agents/gemini/driver.js'
import type { ApprovalAsk, SessionHooks } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { modelKeyPlaceholder, modelUrlPlaceholder } from '../../src/process/key-proxy/model-access.js'
import { serverEnvWithKeys } from '../support/secret-env.js'
import { tempDir } from '../support/temp.js'

/** acp:gemini and acp:copilot are launched like the gemini and copilot drivers, and their sandbox is the gateway's answers. */
const dir = tempDir('acp-gc-')
const serverEnv = serverEnvWithKeys(dir, {
  GEMINI_API_KEY: 'gemini-secret-key-0a1b2c3d',
  GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9/gemini',
  GEMINI_MODEL: 'gemini-2.5-flash',
  COPILOT_PROVIDER_BASE_URL: 'http://127.0.0.1:9/v1',
  COPILOT_PROVIDER_API_KEY: 'copilot-secret-key-4e5f6a7b',
  COPILOT_MODEL: 'gpt-test',
})
const config = loadConfig(serverEnv, dir)
const proxied = { fronts: () => true }
const launchOf = (name: 'gemini' | 'copilot', access?: typeof proxied) => {
  const spec = acpPreset(name)
  return acpLaunch({ ...spec, command: spec.command ?? '/bin/true' }, config, serverEnv, { cwd: dir, access })
}

describe('acp:gemini and acp:copilot launches', () => {
  it('the presets are listed and installed from the pinned packages, with credentials as their drivers check them', () => {
    expect(acpAgentSpecs(undefined).map((s) => s.name)).toEqual(['codex-acp', 'claude-agent-acp', 'gemini'])
    // copilot only when ACP_AGENTS names it, bare (the pinned CLI) or with a command (its wiring kept)
    expect(acpAgentSpecs('copilot').at(-1)).toMatchObject({
      name: 'copilot',
      flavor: 'copilot',
      command: expect.stringMatching(/copilot/),
    })
    expect(acpAgentSpecs('copilot=/opt/copilot').at(-1)).toMatchObject({
      name: 'copilot',
      flavor: 'copilot',
      command: '/opt/copilot',
    })
    expect(acpAgentSpecs('gemini=/opt/gemini').find((s) => s.name === 'gemini')).toMatchObject({
      flavor: 'gemini',
      command: '/opt/gemini',
    })
    expect(() => acpAgentSpecs('shell')).toThrow(/name=command/)
    for (const name of ['gemini', 'copilot'] as const) {
      const status = acpStatus(`acp:${name}`, acpPreset(name), config, serverEnv)
      expect(status).toMatchObject({ installed: true, authenticated: true, hint: null })
      expect(status.version).toMatch(/^\d+\.\d+\.\d+/)
      const bare = acpStatus(
        `acp:${name}`,
        acpPreset(name),
        loadConfig({ PATH: process.env.PATH, HOME: dir }, dir),
        {},
      )
      expect(bare).toMatchObject({ authenticated: false, hint: expect.stringMatching(/credentials/) })
    }
  })

  it('gemini: the gemini driver env (strict sanitization, no telemetry) with the workspace untrusted, markers under GEMINI_CLI_', () => {
    const launch = launchOf('gemini')
    const native = new GeminiDriver(config, serverEnv).childEnv()
    expect(launch.env).toEqual({ ...native, GEMINI_CLI_AGENT_GATEWAY_SERVER: expect.any(String) })
    expect(launch.env).toMatchObject({ SURFACE: 'Github', GEMINI_CLI_TRUST_WORKSPACE: 'false' })
    expect(launch.markerPrefix).toBe('GEMINI_CLI_')
    expect(launch.args).toEqual([
      expect.stringMatching(/gemini\.js$/),
      '--acp',
      '--allowed-mcp-server-names',
      'agent-gateway-allows-no-mcp-server',
      '--model=gemini-2.5-flash',
      '--approval-mode',
      'default',
    ])
    expect(launch.args).not.toContain('--skip-trust')
  })

  it('gemini with GEMINI_WORKSPACE_SETTINGS=true: the workspace trusted and its MCP servers allowed, as for the gemini driver', () => {
    const trusting = loadConfig({ ...serverEnv, GEMINI_WORKSPACE_SETTINGS: 'true' }, dir)
    const spec = acpPreset('gemini')
    const launch = acpLaunch({ ...spec, command: spec.command ?? '/bin/true' }, trusting, serverEnv, {
      cwd: dir,
    })
    expect(launch.env.GEMINI_CLI_TRUST_WORKSPACE).toBe('true')
    expect(new GeminiDriver(trusting, serverEnv).childEnv().GEMINI_CLI_TRUST_WORKSPACE).toBe('true')
    expect(launch.args).not.toContain('--allowed-mcp-server-names')
    expect(launch.args).not.toContain('--skip-trust')
  })

  it('copilot: the copilot driver env and flags (--secret-env-vars, no telemetry or update), --acp', () => {
    const launch = launchOf('copilot')
    expect(launch.args).toEqual(
      expect.arrayContaining([
        '--acp',
        '--no-auto-update',
        '--disable-client-telemetry',
        '--no-ask-user',
        '--secret-env-vars=COPILOT_PROVIDER_API_KEY,COPILOT_GITHUB_TOKEN,GH_TOKEN,GITHUB_TOKEN',
      ]),
    )
    expect(launch.env).toMatchObject({
      COPILOT_OFFLINE: 'true',
      COPILOT_AUTO_UPDATE: 'false',
      COPILOT_PROVIDER_API_KEY: 'copilot-secret-key-4e5f6a7b',
      COPILOT_MODEL: 'gpt-test',
    })
    // started by bubblewrap with copilot's managed hooks lockdown bound at its device path (copilot-lockdown.ts)
    expect(launch.command).toMatch(/bwrap$/)
    const bind = launch.args.indexOf('--ro-bind')
    expect(launch.args.slice(bind + 2, bind + 3)).toEqual(['/etc/github-copilot/managed-settings.json'])
    expect(JSON.parse(readFileSync(launch.args[bind + 1] as string, 'utf8'))).toMatchObject({
      strictPluginOnlyCustomization: expect.arrayContaining(['hooks']),
    })
    expect(launch.args[launch.args.indexOf('--') + 1]).toMatch(/copilot$/)
  })

  it('copilot with COPILOT_WORKSPACE_SETTINGS=true: copilot itself, no lockdown', () => {
    const trusting = loadConfig({ ...serverEnv, COPILOT_WORKSPACE_SETTINGS: 'true' }, dir)
    const spec = acpPreset('copilot')
    const launch = acpLaunch({ ...spec, command: spec.command ?? '/bin/true' }, trusting, serverEnv, {
      cwd: dir,
    })
    expect(launch.command).toBe(spec.command ?? '/bin/true')
    expect(launch.args[0]).toBe('--acp')
  })

  it('behind the key proxy neither holds the real key: placeholders the runner swaps for a token', () => {
    const gemini = launchOf('gemini', proxied).env
    expect(gemini.GEMINI_API_KEY).toBe(modelKeyPlaceholder('gemini'))
    expect(gemini.GOOGLE_GEMINI_BASE_URL).toBe(modelUrlPlaceholder('gemini'))
    const copilot = launchOf('copilot', proxied).env
    expect(copilot.COPILOT_PROVIDER_API_KEY).toBe(modelKeyPlaceholder('copilot'))
    expect(copilot.COPILOT_PROVIDER_BASE_URL).toBe(modelUrlPlaceholder('copilot'))
    for (const env of [gemini, copilot]) {
      const values = Object.values(env).join('\n')
      for (const key of ['gemini-secret-key-0a1b2c3d', 'copilot-secret-key-4e5f6a7b'])
        expect(values).not.toContain(key)
    }
  })
})

describe('sandboxApprovals', () => {
  const cwd = '/work/ws'
  const asked: ApprovalAsk[] = []
  const hooks: SessionHooks = {
    requestApproval: async (ask) => {
      asked.push(ask)
      return 'decline'
    },
  }
  const command: ApprovalAsk = {
    kind: 'command',
    command: 'make',
    cwd,
    options: ['accept', 'decline', 'cancel'],
  }
  const edit = (p: string): ApprovalAsk => ({
    kind: 'file_change',
    changes: [{ path: p, kind: 'update' }],
    cwd,
    options: ['accept', 'decline', 'cancel'],
  })
  const answer = (
    s: Parameters<typeof sandboxApprovals>[0],
    p: Parameters<typeof sandboxApprovals>[1],
    a: ApprovalAsk,
  ) => {
    asked.length = 0
    return sandboxApprovals(s, p, cwd, hooks).requestApproval(a, new AbortController().signal)
  }

  it('asks what the sandbox does not decide, answers the rest', async () => {
    expect(await answer('read-only', undefined, edit('/work/ws/a'))).toBe('decline')
    expect(asked).toHaveLength(1)
    expect(await answer('workspace-write', 'on-request', edit('/work/ws/a'))).toBe('accept')
    expect(asked).toHaveLength(0)
    // a file change outside the cwd: declined, nobody asked (before: asked; copilot wrote what was accepted)
    expect(await answer('workspace-write', 'on-request', edit('/etc/passwd'))).toBe('decline')
    expect(asked).toHaveLength(0)
    await answer('workspace-write', 'untrusted', command)
    expect(asked).toHaveLength(1)
    expect(await answer('danger-full-access', 'on-request', command)).toBe('accept')
    expect(asked).toHaveLength(0)
  })

  it('approvalPolicy never asks nobody: read-only declines, workspace-write accepts inside the cwd', async () => {
    expect(await answer('read-only', 'never', command)).toBe('decline')
    expect(await answer('workspace-write', 'never', command)).toBe('accept')
    expect(await answer('workspace-write', 'never', edit('/tmp/x'))).toBe('decline')
    expect(asked).toHaveLength(0)
  })
})
