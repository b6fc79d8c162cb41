import type { Config } from '../../config/load.js'
import { baseChildEnv } from '../../process/child-env.js'
import { type ModelAccess, modelRoute } from '../../process/key-proxy/model-access.js'
import { knownSecretNames, secretNameFragments, secretNamesIn } from '../../process/secrets.js'
import { codexUpstream } from '../model-upstreams.js'
import { codexOverride, codexSetting, type TomlValue, tomlKey } from './config-override.js'

/**
 * Turns the gateway's provider settings into codex `-c` overrides, so codex talks to any OpenAI-compatible
 * endpoint without anyone editing ~/.codex/config.toml. The key itself travels in the child's env
 * (`env_key`), never on the command line.
 */
export const codexKeyEnv = 'CODEX_API_KEY'

export function codexProviderArgs(
  config: Config,
  access?: ModelAccess,
  /** The server's env: codex gets its allowlisted part, whose credentialed URLs its commands must not see. */
  serverEnv: NodeJS.ProcessEnv = process.env,
): string[] {
  const args: string[] = []
  const c = (kv: string) => args.push('-c', kv)
  const set = (key: string, value: TomlValue) => args.push(...codexOverride(key, value))
  for (const kv of codexConfinementOverrides(secretNamesIn(baseChildEnv(serverEnv)))) c(kv)
  const proxied = access?.fronts?.('openai') === true
  const baseUrl = proxied
    ? modelRoute(access, 'openai', { key: undefined, url: undefined }).url
    : config.CODEX_API_BASE_URL
  if (baseUrl) {
    const name = config.CODEX_MODEL_PROVIDER ?? 'agent-gateway'
    set('model_provider', name)
    set(`model_providers.${tomlKey(name)}`, {
      name,
      base_url: baseUrl,
      wire_api: 'responses',
      ...(config.CODEX_API_KEY || proxied ? { env_key: codexKeyEnv } : {}),
      ...(config.CODEX_MAX_RETRIES !== undefined
        ? { stream_max_retries: config.CODEX_MAX_RETRIES, request_max_retries: config.CODEX_MAX_RETRIES }
        : {}),
    })
  } else if (config.CODEX_MODEL_PROVIDER) {
    set('model_provider', config.CODEX_MODEL_PROVIDER)
  }
  if (config.CODEX_MODEL_REASONING_EFFORT) set('model_reasoning_effort', config.CODEX_MODEL_REASONING_EFFORT)
  for (const kv of splitOverrides(config.CODEX_CONFIG_OVERRIDES)) c(kv)
  return args
}

/**
 * Overrides every codex process gets, before the operator's own (CODEX_CONFIG_OVERRIDES may change them):
 * - commands the model runs never see a secret: the gateway's known secret names, every name that looks
 *   like a credential and the names of `secretNames` (those of codex's env whose URL holds a password: an
 *   egress proxy's) are excluded from their environment (codex applies `exclude` after `inherit`);
 * - workspace-write means the workspace only: neither $TMPDIR nor /tmp is writable.
 */
export function codexConfinementOverrides(secretNames: readonly string[] = []): string[] {
  const patterns = [
    ...new Set([...knownSecretNames, ...secretNames]),
    ...secretNameFragments.map((f) => `*${f}*`),
  ]
  return [
    codexSetting('shell_environment_policy.exclude', patterns),
    codexSetting('sandbox_workspace_write.exclude_tmpdir_env_var', true),
    codexSetting('sandbox_workspace_write.exclude_slash_tmp', true),
  ]
}

/**
 * The env codex needs on top of the base child env: its home and its key; with the key proxy (a runner that
 * fronts `openai`), a placeholder the runner turns into a token of the process's own, and no real key at all.
 */
export function codexEnv(
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
  access?: ModelAccess,
): Record<string, string> {
  const env: Record<string, string> = {}
  if (config.CODEX_HOME) env.CODEX_HOME = config.CODEX_HOME
  const route = modelRoute(access, 'openai', { key: undefined, url: undefined })
  if (route.proxied && route.key && codexUpstream(config, serverEnv)) {
    env[codexKeyEnv] = route.key
    return env
  }
  if (config.CODEX_API_KEY) env[codexKeyEnv] = config.CODEX_API_KEY
  if (serverEnv.OPENAI_API_KEY) env.OPENAI_API_KEY = serverEnv.OPENAI_API_KEY
  return env
}

export function splitOverrides(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[;\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
}
