import type { Config } from '../../config/load.js'
import type { ModelAccess } from '../../process/key-proxy/model-access.js'
import { geminiEnv, geminiMarkers, noWorkspaceConfig, trustWorkspace } from '../gemini/launch-env.js'

/**
 * gemini on POST /run is started as the gemini driver starts it (gemini/launch-env.ts), so a workspace's
 * `.gemini/settings.json` (hooks, tool discovery, MCP servers) and `.gemini/.env` take no effect unless
 * GEMINI_WORKSPACE_SETTINGS:
 * - `--skip-trust --allowed-mcp-server-names <no server>` before the request's args (added after the grammar
 *   check, which refuses a request's own `--skip-trust`). A request's own `--allowed-mcp-server-names` (the grammar
 *   allows it) adds to that list, since yargs collects a repeated list option: it gets the servers it names, of
 *   the system and user settings only (the workspace's are not read);
 * - GEMINI_CLI_TRUST_WORKSPACE is the gateway's, over the request's (RUN_ALLOW_ENV may let a request send it):
 *   `false` (untrusted while the settings and environment files load, trusted by `--skip-trust` from the
 *   arguments on), or `true` with GEMINI_WORKSPACE_SETTINGS. So `/run` gemini runs headless without it;
 * - the gateway's Gemini home (gemini/home.ts, the driver's: `security.auth.useExternal` and
 *   `advanced.ignoreLocalEnv` ensured), its key and endpoint (through the key proxy), its telemetry and env
 *   sanitization settings. The request's env (what RUN_ALLOW_ENV lets through) goes over them: its own
 *   `GEMINI_CLI_HOME` is used as it is (its settings decide about the environment files; the gateway writes
 *   nothing there), and its own `GEMINI_API_KEY` or `GOOGLE_GEMINI_BASE_URL` replaces the gateway's key and
 *   endpoint both (the gateway's key never goes to a request's URL).
 * In a container (Docker mode) the image's Gemini home and env are kept: only the args and the trust variable.
 */
export interface GeminiRunLaunch {
  args: string[]
  env: Record<string, string>
  /** The gateway's Gemini home when the run uses it (its settings to be ensured first), else null. */
  home: string | null
}

/** Where a host run's Gemini env comes from; a container run has none of it. */
export interface GeminiHost {
  serverEnv: NodeJS.ProcessEnv
  access: ModelAccess | undefined
  /** The gateway's Gemini home (gemini/home.ts `geminiHome`). */
  home: string
  /** The run's process marker, also under the name Gemini CLI's env filter keeps for its commands. */
  marker: string
}

const ownModelNames = ['GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL']

/**
 * The args and env of a gemini `/run`: `request` after the policy checks; `base`, the env the cli driver would give
 * any CLI (Docker mode's in a container); `host` null in a container.
 */
export function geminiRunLaunch(
  config: Config,
  request: { args: string[]; env?: Record<string, string> | undefined },
  base: Record<string, string>,
  host: GeminiHost | null,
): GeminiRunLaunch {
  const args = config.GEMINI_WORKSPACE_SETTINGS ? request.args : [...noWorkspaceConfig, ...request.args]
  const trust = { GEMINI_CLI_TRUST_WORKSPACE: trustWorkspace(config) }
  if (!host) return { args, env: { ...base, ...trust }, home: null }
  const own = request.env ?? {}
  const gateway = geminiEnv(config, host.serverEnv, host.access, host.home)
  if (ownModelNames.some((name) => own[name] !== undefined))
    for (const name of ownModelNames) delete gateway[name]
  return {
    args,
    env: { ...base, ...gateway, ...own, ...trust, ...geminiMarkers(host.marker) },
    home: own.GEMINI_CLI_HOME === undefined ? host.home : null,
  }
}
