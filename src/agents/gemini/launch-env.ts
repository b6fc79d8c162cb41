import type { Config } from '../../config/load.js'
import { baseChildEnv } from '../../process/child-env.js'
import { type ModelAccess, modelRoute } from '../../process/key-proxy/model-access.js'
import { markerVariable } from '../../process/process-marker.js'
import { serverMarker, serverMarkerVariable } from '../../process/server-marker.js'

/**
 * How the gateway starts Gemini CLI, for the gemini driver and for gemini on POST /run (cli/gemini-run.ts).
 *
 * A workspace is written by agents and repositories, so its `.gemini/settings.json` (hooks,
 * `tools.discoveryCommand`/`callCommand`, MCP servers: commands run outside any sandbox) is not loaded. Gemini CLI
 * reads its settings before its arguments: the workspace is untrusted then (GEMINI_CLI_TRUST_WORKSPACE=false: its
 * settings are skipped, the system and user files kept), and `--skip-trust` trusts it from the arguments on
 * (headless runs need it; an untrusted folder gets approval mode `default` and no git commands). Its `.gemini/.env`,
 * which Gemini CLI read again at its auth check, once trusted, is kept out by the home's settings (home.ts:
 * `security.auth.useExternal`, `advanced.ignoreLocalEnv`). The MCP flag wins over every settings file: only
 * a server by a name no configuration uses is allowed. GEMINI_WORKSPACE_SETTINGS: all of it is loaded.
 */
export const noWorkspaceConfig = [
  '--skip-trust',
  '--allowed-mcp-server-names',
  'agent-gateway-allows-no-mcp-server',
]

/** GEMINI_CLI_TRUST_WORKSPACE, read before the arguments: `false` keeps the workspace's settings out. */
export const trustWorkspace = (config: Config): string =>
  config.GEMINI_WORKSPACE_SETTINGS ? 'true' : 'false'

/**
 * Allowlisted env plus Gemini's home, endpoint and key (through the key proxy when `access` fronts gemini: a token
 * of the process's own and the proxy's URL); no telemetry, no relaunch, the workspace's settings left out.
 */
export function geminiEnv(
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
  access: ModelAccess | undefined,
  home: string,
): Record<string, string> {
  const { key, url: baseUrl } = modelRoute(access, 'gemini', {
    key: config.GEMINI_API_KEY,
    url: config.GOOGLE_GEMINI_BASE_URL,
  })
  return {
    ...baseChildEnv(serverEnv),
    GEMINI_CLI_HOME: home,
    GEMINI_CLI_TRUST_WORKSPACE: trustWorkspace(config),
    GEMINI_CLI_NO_RELAUNCH: 'true',
    GEMINI_TELEMETRY_ENABLED: 'false',
    NO_BROWSER: 'true',
    // Gemini CLI's strict environment sanitization for the shell commands it runs (the mode it uses in
    // GitHub Actions): they get PATH, HOME, locale, TMPDIR and the like, never GEMINI_API_KEY or any other
    // credential. Settings cannot turn it off (a workspace's .gemini/settings.json could turn the
    // non-strict mode off); SURFACE is otherwise only a telemetry label, and telemetry is off.
    SURFACE: 'Github',
    ...(key ? { GEMINI_API_KEY: key } : {}),
    ...(baseUrl ? { GOOGLE_GEMINI_BASE_URL: baseUrl } : {}),
  }
}

/**
 * The process marker under a name Gemini CLI's strict env filter (SURFACE=Github) keeps for the commands it
 * runs: it drops every other name but a few, the marker's own included (process-marker.ts `carriesMarker`).
 * The server's marker (server-marker.ts) under such a name too: the next start's sweep finds by it what the
 * commands of a gateway that was killed left running (`serverMarkerIn` reads either name).
 */
export function geminiMarkers(marker: string): Record<string, string> {
  return {
    [`GEMINI_CLI_${markerVariable}`]: marker,
    [`GEMINI_CLI_${serverMarkerVariable}`]: serverMarker(),
  }
}
