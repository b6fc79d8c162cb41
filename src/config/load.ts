import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import { type ApiToken, parseApiTokens } from './api-tokens.js'
import { ConfigError } from './config-error.js'
import { envSchema, type RawSettings } from './schema.js'
import { parseWebhookSecret } from './webhook-secret.js'

/** The validated settings, with paths made absolute. */
export interface Config extends RawSettings {
  /** Absolute, in order: WORKSPACE_DIR first, then WORKSPACE_ROOTS. */
  workspaceRoots: string[]
  /** Whether MODEL_LIST was set (then it overrides the models an agent lists itself on /v1/models). */
  modelListConfigured: boolean
  /** Absolute key and certificate paths when TLS is on (TLS_* or seed 004's CODEX_API_*), else null. */
  tls: { certPath: string; keyPath: string } | null
  /** API_TOKENS parsed: names, scopes, tenants. */
  apiTokens: ApiToken[]
}

/** Reads `.env` (never overriding the real environment) and validates everything with one zod schema. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const merged = { ...readDotenv(cwd), ...env }
  const parsed = envSchema.safeParse(merged)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    throw new ConfigError(`Invalid settings:\n  ${lines.join('\n  ')}`)
  }
  const s = parsed.data
  if (s.WEBHOOK_URLS.length > 0 && !s.WEBHOOK_SECRET)
    throw new ConfigError('WEBHOOK_URLS needs WEBHOOK_SECRET (`whsec_<base64 key>`) to sign the deliveries')
  if (s.WEBHOOK_SECRET) {
    try {
      parseWebhookSecret(s.WEBHOOK_SECRET)
    } catch (err) {
      throw new ConfigError((err as Error).message)
    }
  }
  const workspaceDir = path.resolve(cwd, s.WORKSPACE_DIR)
  return {
    ...s,
    DATA_DIR: path.resolve(cwd, s.DATA_DIR),
    WORKSPACE_DIR: workspaceDir,
    CODEX_HOME: s.CODEX_HOME ? path.resolve(cwd, s.CODEX_HOME) : undefined,
    workspaceRoots: [workspaceDir, ...s.WORKSPACE_ROOTS.map((r) => path.resolve(cwd, r))],
    modelListConfigured: (merged.MODEL_LIST ?? '').trim() !== '',
    apiTokens: refuseTenants(parseApiTokens(s.API_TOKENS)),
    tls: tlsFiles(s, cwd),
  }
}

/** TLS_CERT_PATH + TLS_KEY_PATH, else seed 004's CODEX_API_USE_TLS with its paths; one without the other is an error. */
function tlsFiles(s: RawSettings, cwd: string): Config['tls'] {
  if (s.TLS_CERT_PATH || s.TLS_KEY_PATH) {
    if (!s.TLS_CERT_PATH || !s.TLS_KEY_PATH)
      throw new ConfigError('TLS needs both TLS_CERT_PATH and TLS_KEY_PATH')
    return { certPath: path.resolve(cwd, s.TLS_CERT_PATH), keyPath: path.resolve(cwd, s.TLS_KEY_PATH) }
  }
  if (!s.CODEX_API_USE_TLS) return null
  return {
    certPath: path.resolve(cwd, s.CODEX_API_TLS_CERT_PATH),
    keyPath: path.resolve(cwd, s.CODEX_API_TLS_KEY_PATH),
  }
}

function readDotenv(cwd: string): Record<string, string> {
  const file = path.join(cwd, '.env')
  return existsSync(file) ? parseDotenv(readFileSync(file)) : {}
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/**
 * A token bound to a tenant must see only that tenant's resources; until tenant isolation exists, such an entry
 * stops the server rather than silently sharing everything.
 */
function refuseTenants(tokens: ApiToken[]): ApiToken[] {
  const bound = tokens.find((t) => t.tenant !== null)
  if (bound)
    throw new ConfigError(
      `API_TOKENS: token "${bound.name}" names a tenant, but tenant isolation is not available in this version; remove the :<tenant> part`,
    )
  return tokens
}
