/**
 * What counts as a secret of the gateway or of a provider, and how it is kept out of agents' commands, stored
 * events and logs. Three lines of defence use this module:
 * 1. each agent CLI is told to strip these names from the environment of the commands it runs
 *    (codex `shell_environment_policy.exclude`, claude's shell prefix, gemini's env redaction, copilot
 *    `--secret-env-vars`), so `env` inside a run shows none of them;
 * 2. every event is passed through a `Redactor` before it is stored or sent, replacing any known secret value;
 * 3. the logger redacts the same values and the usual credential-carrying fields.
 */

/** Variables the gateway itself reads that hold a secret (never given to a command, never logged). */
export const knownSecretNames = [
  'API_TOKENS',
  'CODEX_API_KEY',
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'GEMINI_API_KEY',
  'GOOGLE_API_KEY',
  'COPILOT_PROVIDER_API_KEY',
  'COPILOT_GITHUB_TOKEN',
  'GH_TOKEN',
  'GITHUB_TOKEN',
] as const

/** Name fragments that mark a variable as a credential, whatever agent or tool it belongs to. */
export const secretNameFragments = [
  'KEY',
  'SECRET',
  'TOKEN',
  'PASSWORD',
  'PASSWD',
  'CREDENTIAL',
  'AUTH',
  'PRIVATE',
] as const

const secretName = new RegExp(secretNameFragments.join('|'), 'i')

export function isSecretName(name: string): boolean {
  return (knownSecretNames as readonly string[]).includes(name.toUpperCase()) || secretName.test(name)
}

/**
 * The credentials a URL-valued variable carries (`http://user:password@proxy:3128`, an egress proxy's): the
 * password as written and decoded, and `user:password`; none when the value is no URL with a password.
 */
export function urlCredentials(value: string): string[] {
  const at = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@\s]*)@/i.exec(value.trim())
  const userinfo = at?.[1]
  if (!userinfo?.includes(':')) return []
  const password = userinfo.slice(userinfo.indexOf(':') + 1)
  if (!password) return []
  let decoded = password
  try {
    decoded = decodeURIComponent(password)
  } catch {
    // not percent-encoded as a whole: the text as written is what travels
  }
  return [...new Set([userinfo, password, decoded])]
}

/** The names in `env` a command must not see: credential names, and variables whose URL holds a password. */
export function secretNamesIn(env: Record<string, string | undefined>): string[] {
  return Object.entries(env)
    .filter(([name, value]) => isSecretName(name) || urlCredentials(value ?? '').length > 0)
    .map(([name]) => name)
}

/**
 * Names whose values are redacted from events and logs: narrower than the names kept from commands, so that
 * e.g. SSH_AUTH_SOCK's path is not rewritten wherever it appears.
 */
const valueName = /(^|_)(API_?KEY|KEY|SECRET|TOKENS?|PASSWORD|PASSWD)($|_)/i

function holdsSecretValue(name: string): boolean {
  return (knownSecretNames as readonly string[]).includes(name.toUpperCase()) || valueName.test(name)
}

/** Values shorter than this are not treated as secrets (redacting "1" or "true" would garble everything). */
const minSecretLength = 8

/**
 * Every secret value the gateway knows: the values of secret-named variables of its environment and of its
 * settings (which may come from `.env`), with API_TOKENS split into its tokens, and the credentials of every
 * URL-valued variable (an egress proxy's `user:password`).
 */
export function secretValues(...sources: object[]): string[] {
  const values = new Set<string>()
  const add = (v: string) => {
    const t = v.trim()
    if (t.length >= minSecretLength) values.add(t)
  }
  const addPart = (name: string, part: string) => {
    add(part)
    if (name.toUpperCase() === 'API_TOKENS') add(apiTokenOf(part))
  }
  for (const source of sources)
    for (const [name, value] of Object.entries(source)) {
      // a URL's password, whatever the name (HTTPS_PROXY=http://user:password@proxy)
      if (typeof value === 'string') for (const credential of urlCredentials(value)) add(credential)
      if (!holdsSecretValue(name)) continue
      if (typeof value === 'string') {
        add(value)
        for (const part of value.split(',')) addPart(name, part)
      } else if (Array.isArray(value)) for (const v of value) if (typeof v === 'string') addPart(name, v)
    }
  return [...values].sort((a, b) => b.length - a.length)
}

/**
 * The secret of one API_TOKENS entry: a bare `<token>`, or the token of `<name>:<token>:<scopes>[:<tenant>]`
 * (the whole entry never travels; the token alone does, in every request).
 */
function apiTokenOf(entry: string): string {
  const parts = entry.trim().split(':')
  return parts.length >= 3 ? (parts[1] ?? '') : entry
}

export const redactedMarker = '[REDACTED]'

/** Replaces known secret values in strings and in any JSON-like value (returns the input when nothing matched). */
export class Redactor {
  private readonly values: string[]

  constructor(values: readonly string[]) {
    this.values = [...values].sort((a, b) => b.length - a.length)
  }

  get empty(): boolean {
    return this.values.length === 0
  }

  /** A secret known from now on (a token the key proxy lent an agent process); ignored when too short. */
  add(value: string): void {
    if (value.length < minSecretLength || this.values.includes(value)) return
    this.values.push(value)
    this.values.sort((a, b) => b.length - a.length)
  }

  /** A secret no longer worth anything (a revoked token). */
  remove(value: string): void {
    const i = this.values.indexOf(value)
    if (i >= 0) this.values.splice(i, 1)
  }

  text(s: string): string {
    let out = s
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(redactedMarker)
    return out
  }

  /** A deep copy with every string redacted; the same object when it holds no secret. */
  value<T>(input: T): T {
    // most values hold none: looked for without copying anything, copied only when one is there
    if (this.empty || !this.holdsSecret(input)) return input
    return this.walk(input) as T
  }

  /** Whether a string anywhere in `input` (not its keys: those are not redacted) contains a secret value. */
  private holdsSecret(input: unknown): boolean {
    if (typeof input === 'string') {
      for (const v of this.values) if (input.includes(v)) return true
      return false
    }
    if (Array.isArray(input)) {
      for (const v of input) if (this.holdsSecret(v)) return true
      return false
    }
    if (input && typeof input === 'object') {
      for (const v of Object.values(input)) if (this.holdsSecret(v)) return true
      return false
    }
    return false
  }

  private walk(input: unknown): unknown {
    if (typeof input === 'string') return this.text(input)
    if (Array.isArray(input)) {
      let changed = false
      const out = input.map((v) => {
        const r = this.walk(v)
        if (r !== v) changed = true
        return r
      })
      return changed ? out : input
    }
    if (input && typeof input === 'object') {
      let changed = false
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(input)) {
        const r = this.walk(v)
        if (r !== v) changed = true
        out[k] = r
      }
      return changed ? out : input
    }
    return input
  }
}
