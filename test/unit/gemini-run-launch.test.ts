import { describe, expect, it } from 'vitest'
import { geminiRunLaunch } from '../../src/agents/cli/gemini-run.js'
import { loadConfig } from '../../src/config/load.js'
import { modelKeyPlaceholder, modelUrlPlaceholder } from '../../src/process/key-proxy/model-access.js'
import { serverEnvWithKeys } from '../support/secret-env.js'
import { tempDir } from '../support/temp.js'

/** The rules of gemini on POST /run's args and env (cli/gemini-run.ts); a real run: workspace-agent-config.test.ts. */
const dir = tempDir('gemini-run-')
const serverEnv = serverEnvWithKeys(dir, {
  GEMINI_API_KEY: 'gemini-secret-key-0a1b2c3d',
  GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9/gemini',
})
const config = loadConfig(serverEnv, dir)
const host = { serverEnv, access: { fronts: () => true }, home: `${dir}/gemini`, marker: 'm-1' }
const args = ['-p', 'hi']

describe('gemini on /run', () => {
  it("the gateway's options before the request's, its trust over the request's, its home and key", () => {
    const request = { args, env: { GEMINI_CLI_TRUST_WORKSPACE: 'true', LANG: 'C' } }
    const launch = geminiRunLaunch(config, request, { LANG: 'C' }, host)
    expect(launch.args).toEqual([
      '--skip-trust',
      '--allowed-mcp-server-names',
      'agent-gateway-allows-no-mcp-server',
      ...args,
    ])
    expect(launch.home).toBe(host.home)
    expect(launch.env).toMatchObject({
      GEMINI_CLI_TRUST_WORKSPACE: 'false',
      GEMINI_CLI_HOME: host.home,
      GEMINI_API_KEY: modelKeyPlaceholder('gemini'),
      GOOGLE_GEMINI_BASE_URL: modelUrlPlaceholder('gemini'),
      SURFACE: 'Github',
      GEMINI_CLI_AGENT_GATEWAY_APP_SERVER: 'm-1',
      LANG: 'C',
    })
  })

  it("a request's own home is its own; its key or URL replaces the gateway's pair", () => {
    const own = { GEMINI_CLI_HOME: `${dir}/own`, GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9/own' }
    const launch = geminiRunLaunch(config, { args, env: own }, {}, host)
    expect(launch.home).toBeNull()
    expect(launch.env).toMatchObject(own)
    expect(launch.env.GEMINI_API_KEY).toBeUndefined()
  })

  it('GEMINI_WORKSPACE_SETTINGS: trusted from the start, no options added; a container keeps its env', () => {
    const trusting = loadConfig({ ...serverEnv, GEMINI_WORKSPACE_SETTINGS: 'true' }, dir)
    const launch = geminiRunLaunch(trusting, { args, env: { GEMINI_CLI_TRUST_WORKSPACE: 'false' } }, {}, host)
    expect(launch.args).toEqual(args)
    expect(launch.env.GEMINI_CLI_TRUST_WORKSPACE).toBe('true')
    const container = geminiRunLaunch(config, { args }, { LITELLM_API_KEY: 'k' }, null)
    expect(container).toEqual({
      args: ['--skip-trust', '--allowed-mcp-server-names', 'agent-gateway-allows-no-mcp-server', ...args],
      env: { LITELLM_API_KEY: 'k', GEMINI_CLI_TRUST_WORKSPACE: 'false' },
      home: null,
    })
  })
})
