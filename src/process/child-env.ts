/**
 * The environment an agent process starts with. It is built from an allowlist, never a copy of the server's
 * environment: the gateway's own secrets (API_TOKENS, provider keys of other agents) must not reach a child
 * that runs model-chosen commands.
 */
const inherited = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TERM',
  'TMPDIR',
  'SHELL',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
]

export function baseChildEnv(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue
    if (inherited.includes(name) || name.startsWith('LC_')) env[name] = value
  }
  return env
}

/** The variables of `names` the server has (non-empty), to give a child on top of its base env. */
export function passedThrough(source: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of names) {
    const value = source[name]
    if (value) env[name] = value
  }
  return env
}
