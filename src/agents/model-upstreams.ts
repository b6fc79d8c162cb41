import type { Config } from '../config/load.js'
import { egressSettings, egressSupported } from '../process/key-proxy/egress.js'
import type { Upstream } from '../process/key-proxy/key-proxy.js'

/** Where each provider's API is when no base URL is configured (what the agent CLIs use by default). */
export const defaultProviderUrls = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  gemini: 'https://generativelanguage.googleapis.com',
} as const

/**
 * codex's provider through the key proxy: its key (CODEX_API_KEY, else the server's OPENAI_API_KEY) and its
 * endpoint (CODEX_API_BASE_URL, else OpenAI's). Not proxied: no key (`codex login`), or a named provider of
 * codex's own config without a base URL (the gateway does not know where that one is).
 */
export function codexUpstream(config: Config, serverEnv: NodeJS.ProcessEnv): Upstream | undefined {
  const key = config.CODEX_API_KEY ?? serverEnv.OPENAI_API_KEY
  if (!key) return undefined
  if (!config.CODEX_API_BASE_URL && config.CODEX_MODEL_PROVIDER) return undefined
  return { provider: 'openai', url: config.CODEX_API_BASE_URL ?? defaultProviderUrls.openai, key }
}

/**
 * The providers the key proxy fronts under these settings: those whose API key the gateway holds. With an HTTP
 * proxy for outbound traffic in the server's env (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), the key proxy's upstream
 * calls go through it (egress.ts); none when that proxy is one the key proxy cannot use (SOCKS, `https://`): then
 * agents go through it themselves, with the key, as without the key proxy.
 */
export function modelUpstreams(config: Config, serverEnv: NodeJS.ProcessEnv): Upstream[] {
  const egress = egressSettings(serverEnv)
  if (egress && !egressSupported(egress)) return []
  const upstreams: Upstream[] = []
  const codex = codexUpstream(config, serverEnv)
  if (codex) upstreams.push(codex)
  const anthropicKey = config.ANTHROPIC_API_KEY ?? serverEnv.ANTHROPIC_API_KEY
  if (anthropicKey)
    upstreams.push({
      provider: 'anthropic',
      url: config.ANTHROPIC_BASE_URL ?? serverEnv.ANTHROPIC_BASE_URL ?? defaultProviderUrls.anthropic,
      key: anthropicKey,
    })
  if (config.GEMINI_API_KEY)
    upstreams.push({
      provider: 'gemini',
      url: config.GOOGLE_GEMINI_BASE_URL ?? defaultProviderUrls.gemini,
      key: config.GEMINI_API_KEY,
    })
  // copilot's custom provider (BYOK); its GitHub sign-in is not a model key and goes to GitHub's own API
  if (config.COPILOT_PROVIDER_BASE_URL && config.COPILOT_PROVIDER_API_KEY)
    upstreams.push({
      provider: 'copilot',
      url: config.COPILOT_PROVIDER_BASE_URL,
      key: config.COPILOT_PROVIDER_API_KEY,
    })
  return upstreams
}
