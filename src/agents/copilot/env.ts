import type { Config } from '../../config/load.js'
import { baseChildEnv, passedThrough } from '../../process/child-env.js'
import { type ModelAccess, modelRoute } from '../../process/key-proxy/model-access.js'

/** GitHub tokens copilot accepts, in its order of precedence. */
const githubTokens = ['COPILOT_GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_TOKEN']
/** Where copilot keeps state and its unpacked package (~235 MB per cache dir): passed through when set. */
const locations = [
  'COPILOT_HOME',
  'COPILOT_PKG_CACHE_HOME',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_HOME',
  'XDG_STATE_HOME',
]

export const copilotInstallHint =
  'copilot is not installed: run `npm ci` (the pinned @github/copilot dev dependency; `--omit=dev` leaves it out) ' +
  'or set COPILOT_PATH to a copilot binary'
export const copilotAuthHint =
  'copilot has no credentials: set COPILOT_PROVIDER_BASE_URL (+ COPILOT_PROVIDER_API_KEY, COPILOT_MODEL) for a ' +
  'custom OpenAI-compatible provider, or COPILOT_GITHUB_TOKEN / GH_TOKEN / GITHUB_TOKEN for GitHub Copilot'

/**
 * The child's environment: the allowlisted base, copilot's own locations (only COPILOT_HOME in a container), and either the custom provider
 * (BYOK, which also switches copilot offline: no GitHub auth, telemetry, web tools or auto-update) or a
 * GitHub token. Auto-update is always off so the pinned version runs.
 */
export function copilotEnv(
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
  inContainer = false,
  access?: ModelAccess,
): Record<string, string> {
  const env: Record<string, string> = {
    ...baseChildEnv(serverEnv),
    COPILOT_AUTO_UPDATE: 'false',
    NO_COLOR: '1',
  }
  // In a container the host's cache and XDG paths do not exist: the image's own apply (a package unpacked
  // at build time, COPILOT_PKG_CACHE_HOME in the image, or the tmpfs HOME); COPILOT_HOME is mounted.
  Object.assign(env, passedThrough(serverEnv, inContainer ? ['COPILOT_HOME'] : locations))
  if (config.COPILOT_MODEL) env.COPILOT_MODEL = config.COPILOT_MODEL
  if (config.COPILOT_PROVIDER_BASE_URL) {
    env.COPILOT_OFFLINE = 'true'
    // through the key proxy (when the runner fronts copilot's provider) a token of the process's own
    const { key, url } = modelRoute(access, 'copilot', {
      key: config.COPILOT_PROVIDER_API_KEY,
      url: config.COPILOT_PROVIDER_BASE_URL,
    })
    if (url) env.COPILOT_PROVIDER_BASE_URL = url
    if (key) env.COPILOT_PROVIDER_API_KEY = key
    return env
  }
  Object.assign(env, passedThrough(serverEnv, githubTokens))
  return env
}

/** A custom provider, or a GitHub token (a stored `copilot login` lives in the OS keychain: not checked). */
export function copilotHasCredentials(config: Config, serverEnv: NodeJS.ProcessEnv): boolean {
  return Boolean(config.COPILOT_PROVIDER_BASE_URL) || githubTokens.some((name) => Boolean(serverEnv[name]))
}
