/** The server's egress proxy settings, as curl and most HTTP clients read them from the environment. */
export interface EgressSettings {
  httpProxy?: string
  httpsProxy?: string
  noProxy?: string
}

const first = (env: NodeJS.ProcessEnv, ...names: string[]) => names.map((n) => env[n]).find((v) => v?.trim())

/** The egress settings in `env` (lower case first, as curl), or undefined when it names no proxy. */
export function egressSettings(env: NodeJS.ProcessEnv): EgressSettings | undefined {
  const all = first(env, 'all_proxy', 'ALL_PROXY')
  const httpProxy = first(env, 'http_proxy', 'HTTP_PROXY') ?? all
  const httpsProxy = first(env, 'https_proxy', 'HTTPS_PROXY') ?? all
  if (!httpProxy && !httpsProxy) return undefined
  const noProxy = first(env, 'no_proxy', 'NO_PROXY')
  return {
    ...(httpProxy ? { httpProxy } : {}),
    ...(httpsProxy ? { httpsProxy } : {}),
    ...(noProxy ? { noProxy } : {}),
  }
}

/**
 * Whether the key proxy can go through these settings: `http://` proxies only (not a SOCKS `ALL_PROXY`, nor TLS to
 * the proxy itself).
 */
export function egressSupported(settings: EgressSettings): boolean {
  return [settings.httpProxy, settings.httpsProxy].every((p) => p === undefined || /^http:\/\//i.test(p))
}

/**
 * The proxy a call to `target` goes through under `settings`, or undefined for a direct call: by the target's
 * scheme, unless NO_PROXY names its host (`*`, the host, a parent domain as `example.com` or `.example.com`,
 * optionally with `:port`).
 */
export function egressProxyFor(target: URL, settings: EgressSettings | undefined): URL | undefined {
  if (!settings) return undefined
  const raw = target.protocol === 'https:' ? settings.httpsProxy : settings.httpProxy
  if (!raw) return undefined
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = target.port || (target.protocol === 'https:' ? '443' : '80')
  for (const entry of (settings.noProxy ?? '').split(/[\s,]+/)) {
    if (!entry) continue
    if (entry === '*') return undefined
    const [name = '', entryPort] = entry
      .toLowerCase()
      .replace(/^\*?\./, '.')
      .split(/:(?=\d+$)/)
    if (entryPort && entryPort !== port) continue
    const bare = name.replace(/^\./, '')
    if (host === bare || host.endsWith(`.${bare}`)) return undefined
  }
  return new URL(raw)
}

/** `Proxy-Authorization` for a proxy URL with credentials (`http://user:pass@proxy:3128`). */
export function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username) return {}
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
  return { 'proxy-authorization': `Basic ${Buffer.from(credentials).toString('base64')}` }
}
