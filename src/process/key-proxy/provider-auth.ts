import type { IncomingHttpHeaders } from 'node:http'

/** The model providers whose key the gateway holds and lends out as per-process tokens (key-proxy.ts). */
export const modelProviders = ['openai', 'anthropic', 'gemini', 'copilot'] as const
export type ModelProvider = (typeof modelProviders)[number]

export const isModelProvider = (s: string): s is ModelProvider =>
  (modelProviders as readonly string[]).includes(s)

/** The headers any provider's credential may travel in: all are dropped before the real one is set (realKeyHeader). */
export const credentialHeaders: readonly string[] = [
  'authorization',
  'x-api-key',
  'x-goog-api-key',
  'api-key',
]

/**
 * The token an agent sent, where its provider's clients put the key: OpenAI `Authorization: Bearer`,
 * Anthropic `x-api-key` (or a bearer), Gemini `x-goog-api-key` (or `?key=`); copilot's custom provider (BYOK,
 * OpenAI, Azure or Anthropic wire) a bearer, `api-key` or `x-api-key`.
 */
export function presentedToken(
  provider: ModelProvider,
  headers: IncomingHttpHeaders,
  query: URLSearchParams | undefined,
): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1]
  const header = (name: string) => {
    const v = headers[name]
    return typeof v === 'string' && v ? v : undefined
  }
  if (provider === 'openai') return bearer
  if (provider === 'anthropic') return header('x-api-key') ?? bearer
  if (provider === 'copilot') return bearer ?? header('api-key') ?? header('x-api-key')
  return header('x-goog-api-key') ?? query?.get('key') ?? undefined
}

/** The header the real key goes upstream in, given the agent's request headers (lower-case names). */
export function realKeyHeader(
  provider: ModelProvider,
  headers: Record<string, string | string[] | undefined>,
  key: string,
): [string, string] {
  if (provider === 'copilot') {
    // in the header the agent used (its provider type decides which)
    const name = headers.authorization ? 'authorization' : headers['api-key'] ? 'api-key' : 'x-api-key'
    return [name, name === 'authorization' ? `Bearer ${key}` : key]
  }
  if (provider === 'openai') return ['authorization', `Bearer ${key}`]
  if (provider === 'anthropic') return ['x-api-key', key]
  return ['x-goog-api-key', key]
}
