import type { Config } from '../../config/load.js'
import { baseChildEnv } from '../../process/child-env.js'
import { type ModelAccess, modelRoute } from '../../process/key-proxy/model-access.js'
import { serverMarker, serverMarkerVariable } from '../../process/server-marker.js'
import { resolveModel } from '../../protocol/models.js'
import { geminiHome } from '../gemini/home.js'

/**
 * Gemini CLI's strict env filter (SURFACE=Github) keeps the `GEMINI_CLI_*` names for the commands it runs: the
 * process and server markers go under such names too (AcpProcess adds the process's, per process).
 */
export const geminiMarkerPrefix = 'GEMINI_CLI_'

/**
 * `gemini --acp`'s environment: the gemini driver's (gemini/driver.ts `childEnv`: the allowlisted base, the
 * gateway's Gemini home, the endpoint and key, through the key proxy when it fronts gemini; no telemetry, no
 * relaunch; `SURFACE=Github`, Gemini CLI's strict env sanitization of its commands; the workspace trusted only with
 * GEMINI_WORKSPACE_SETTINGS). In ACP mode Gemini CLI reads a session's settings at `session/new`, in the session's
 * cwd: a trusted workspace's `.gemini/settings.json` (hooks, tool discovery command, MCP servers: commands outside
 * any approval) and `.gemini/.env` would load. Untrusted (GEMINI_CLI_TRUST_WORKSPACE=false, the default), only the
 * system and user settings load, and the approval mode stays `default` (asks): the gateway answers by the sandbox
 * (sandbox-approvals.ts). No `--skip-trust`: ACP mode needs no trust (the native driver's headless runs do).
 */
export function geminiAcpEnv(
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
  access: ModelAccess | undefined,
): Record<string, string> {
  const { key, url } = modelRoute(access, 'gemini', {
    key: config.GEMINI_API_KEY,
    url: config.GOOGLE_GEMINI_BASE_URL,
  })
  return {
    ...baseChildEnv(serverEnv),
    GEMINI_CLI_HOME: geminiHome(config, serverEnv),
    GEMINI_CLI_TRUST_WORKSPACE: config.GEMINI_WORKSPACE_SETTINGS ? 'true' : 'false',
    GEMINI_CLI_NO_RELAUNCH: 'true',
    GEMINI_TELEMETRY_ENABLED: 'false',
    NO_BROWSER: 'true',
    SURFACE: 'Github',
    [`${geminiMarkerPrefix}${serverMarkerVariable}`]: serverMarker(),
    ...(key ? { GEMINI_API_KEY: key } : {}),
    ...(url ? { GOOGLE_GEMINI_BASE_URL: url } : {}),
  }
}

const noMcpServer = 'agent-gateway-allows-no-mcp-server'

/**
 * `--acp`; no MCP server but one by a name no configuration uses (the flag wins over every settings file, as for the
 * gemini driver; GEMINI_WORKSPACE_SETTINGS: the configured ones); the model (`--model=`, attached); approval mode `default`: every tool
 * that needs a confirmation (shell, file writes, web fetch) is asked through `session/request_permission`. (`autoEdit` and `yolo` are refused in an untrusted
 * folder; the sandbox is applied by the gateway's answers instead, sandbox-approvals.ts.)
 */
export function geminiAcpArgs(config: Config, model: string | undefined): string[] {
  const chosen = resolveModel(model, config.GEMINI_MODEL)
  return [
    '--acp',
    ...(config.GEMINI_WORKSPACE_SETTINGS ? [] : ['--allowed-mcp-server-names', noMcpServer]),
    // attached: a model spelled `--yolo` would be an option after a separate -m (yargs)
    ...(chosen ? [`--model=${chosen}`] : []),
    '--approval-mode',
    'default',
  ]
}
