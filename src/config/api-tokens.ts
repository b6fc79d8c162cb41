import { ConfigError } from './config-error.js'

export const scopes = ['read', 'run', 'approve', 'admin'] as const
export type Scope = (typeof scopes)[number]

/** One entry of API_TOKENS, parsed. The secret itself is only kept to compare against; it is never logged. */
export interface ApiToken {
  /** Who decided, in approval records and logs: the entry's name, or `token-<n>` for a bare token. */
  name: string
  token: string
  scopes: ReadonlySet<Scope>
  /** The tenant the token is bound to (it then sees only that tenant's resources), or null. */
  tenant: string | null
}

/** What a token's name and a tenant look like. */
export const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

/**
 * API_TOKENS entries: a bare `<token>` (every scope, no tenant) or `<name>:<token>:<scopes>[:<tenant>]`, scopes
 * from read, run, approve, admin joined by `+` (admin grants every scope), e.g. `dash:s3cret:read`,
 * `ci:t0ken:read+run:team-a`. Errors name the entry by position, never by its secret.
 */
export function parseApiTokens(entries: readonly string[]): ApiToken[] {
  const tokens = entries.map((entry, i) => parseEntry(entry, i + 1))
  const names = new Set<string>()
  for (const t of tokens) {
    if (names.has(t.name)) throw new ConfigError(`API_TOKENS: the name "${t.name}" is used twice`)
    names.add(t.name)
  }
  return tokens
}

function parseEntry(entry: string, position: number): ApiToken {
  const where = `API_TOKENS entry ${position}`
  if (!entry.includes(':'))
    return { name: `token-${position}`, token: entry, scopes: new Set(scopes), tenant: null }
  const parts = entry.split(':')
  if (parts.length < 3 || parts.length > 4)
    throw new ConfigError(`${where}: expected <token> or <name>:<token>:<scopes>[:<tenant>]`)
  const [name = '', token = '', scopeList = '', tenant] = parts
  if (!namePattern.test(name)) throw new ConfigError(`${where}: the name must match ${namePattern}`)
  if (token.length === 0) throw new ConfigError(`${where} (${name}): the token is empty`)
  const granted = new Set<Scope>()
  for (const s of scopeList.split('+')) {
    if (!(scopes as readonly string[]).includes(s))
      throw new ConfigError(`${where} (${name}): unknown scope "${s}"; use ${scopes.join(', ')} joined by +`)
    granted.add(s as Scope)
  }
  if (granted.has('admin')) for (const s of scopes) granted.add(s)
  if (tenant !== undefined && !namePattern.test(tenant))
    throw new ConfigError(`${where} (${name}): the tenant must match ${namePattern}`)
  return { name, token, scopes: granted, tenant: tenant ?? null }
}
