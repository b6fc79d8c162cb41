import { existsSync, readFileSync, realpathSync } from 'node:fs'
import os from 'node:os'
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
  /** Absolute TENANTS_DIR (default DATA_DIR/tenants): each tenant's workspace root and agent homes. */
  tenantsDir: string
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
  checkEventLogLanes(s)
  const workspaceDir = path.resolve(cwd, s.WORKSPACE_DIR)
  const workspaceRoots = [workspaceDir, ...s.WORKSPACE_ROOTS.map((r) => path.resolve(cwd, r))]
  const dataDir = path.resolve(cwd, s.DATA_DIR)
  const tenantsDir = path.resolve(cwd, s.TENANTS_DIR ?? path.join(dataDir, 'tenants'))
  const apiTokens = parseApiTokens(s.API_TOKENS)
  if (apiTokens.some((t) => t.tenant !== null)) checkTenantsDir(tenantsDir, workspaceRoots)
  checkStateOutsideRoots(workspaceRoots, [
    ['DATA_DIR', dataDir],
    ['CODEX_HOME', s.CODEX_HOME ? path.resolve(cwd, s.CODEX_HOME) : undefined],
    ['HOME (the agents’ homes and configuration)', merged.HOME ?? os.homedir()],
    ['the .env file', existsSync(path.join(cwd, '.env')) ? path.join(cwd, '.env') : undefined],
    ['the gateway’s own files', packageDir],
  ])
  return {
    ...s,
    DATA_DIR: dataDir,
    WORKSPACE_DIR: workspaceDir,
    CODEX_HOME: s.CODEX_HOME ? path.resolve(cwd, s.CODEX_HOME) : undefined,
    workspaceRoots,
    modelListConfigured: (merged.MODEL_LIST ?? '').trim() !== '',
    apiTokens,
    tenantsDir,
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

/**
 * The EventLog's lanes each hold a pool connection while they commit: as many lanes as connections would leave
 * none for reads (a stream's replay, GET /v1/...), the bus's NOTIFYs and node signals while every lane commits.
 */
function checkEventLogLanes(s: RawSettings): void {
  const lanes = s.PG_EVENT_LOG_LANES
  if (lanes !== undefined && lanes >= s.PG_POOL_SIZE)
    throw new ConfigError(
      `PG_EVENT_LOG_LANES (${lanes}) must be below PG_POOL_SIZE (${s.PG_POOL_SIZE}): each lane commits on a pool connection of its own, and reads, event notices and node signals need the connections left; set PG_EVENT_LOG_LANES to at most ${s.PG_POOL_SIZE - 1} or raise PG_POOL_SIZE`,
    )
}

const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child)
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))
}

/** The package's own directory (dist/ or src/, node_modules with the agent CLIs the gateway runs). */
const packageDir = path.resolve(import.meta.dirname, '../..')

/**
 * The gateway's own state may not lie inside a workspace root: a request's `cwd` would reach it, and an agent with
 * workspace-write could change it (the store, DATA_DIR/bin's shell prefix, codex's config.toml, the `.env` a restart
 * reads, the agent CLIs the gateway runs) or read it (keys in `.env`). Compared as written and as real paths.
 */
function checkStateOutsideRoots(roots: readonly string[], state: [string, string | undefined][]): void {
  const real = (p: string) => {
    try {
      return realpathSync(p)
    } catch {
      return p
    }
  }
  for (const root of roots)
    for (const [name, place] of state)
      if (place && (inside(place, root) || inside(real(place), real(root))))
        throw new ConfigError(
          `the workspace root ${root} contains ${name} (${place}): a request's cwd there could read or change the gateway's own state; choose a workspace root apart from it`,
        )
}

function readDotenv(cwd: string): Record<string, string> {
  const file = path.join(cwd, '.env')
  return existsSync(file) ? parseDotenv(readFileSync(file)) : {}
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/**
 * A tenant's files must be out of reach of every other token: the tenants' directory may neither lie inside a
 * workspace root (an untenanted `cwd` could point into it) nor contain one.
 */
function checkTenantsDir(tenantsDir: string, roots: readonly string[]): void {
  for (const root of roots)
    if (inside(tenantsDir, root) || inside(root, tenantsDir))
      throw new ConfigError(
        `TENANTS_DIR (${tenantsDir}) overlaps the workspace root ${root}; tenants' workspaces and homes must be apart from every workspace root (set TENANTS_DIR elsewhere)`,
      )
}
