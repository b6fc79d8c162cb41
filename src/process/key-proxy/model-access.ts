import { randomBytes } from 'node:crypto'
import type { ModelProvider } from './provider-auth.js'

/**
 * Random per process and never shown: a request's own text that reaches a launch (a prompt, `/run`'s arguments or
 * environment, an output schema's file) and spells a placeholder is not filled. Without it `/run` with
 * `env: {X: "{{model-key:openai}}"}` gave the command a live token, and in a container the real key.
 */
const placeholderNonce = randomBytes(16).toString('hex')

/**
 * How a driver names a provider's key and base URL in a LaunchSpec when the runner fronts that provider with the
 * key proxy: placeholders, like `{{staged}}`, that the runner (keyed-runner.ts) replaces at start with a token
 * of the process's own and the proxy's URL. The driver never sees the real key.
 */
export const modelKeyPlaceholder = (provider: ModelProvider): string =>
  `{{model-key:${provider}:${placeholderNonce}}}`
export const modelUrlPlaceholder = (provider: ModelProvider): string =>
  `{{model-url:${provider}:${placeholderNonce}}}`

export const placeholderPattern = new RegExp(`\\{\\{model-(key|url):([a-z]+):${placeholderNonce}\\}\\}`, 'g')

/** What a runner that holds the keys tells drivers (absent on a runner without the proxy). */
export interface ModelAccess {
  /** Whether launches get `provider`'s key through placeholders rather than the real key. */
  fronts?(provider: ModelProvider): boolean
}

/**
 * The key and base URL a driver writes into a launch for `provider`: the placeholders when the runner fronts
 * it, else the real key and the configured base URL (the path of a gateway without the proxy).
 */
export function modelRoute(
  access: ModelAccess | undefined,
  provider: ModelProvider,
  direct: { key: string | undefined; url: string | undefined },
): { key: string | undefined; url: string | undefined; proxied: boolean } {
  if (access?.fronts?.(provider))
    return { key: modelKeyPlaceholder(provider), url: modelUrlPlaceholder(provider), proxied: true }
  return { ...direct, proxied: false }
}
