import { deferredProcess } from '../deferred-process.js'
import type { LaunchSpec, Leftover, ProcessRunner, RunnerInfo, RunningProcess } from '../runner.js'
import { wrappedProcess } from '../runner.js'
import type { KeyProxy } from './key-proxy.js'
import type { ModelAccess } from './model-access.js'
import { placeholderPattern } from './model-access.js'
import { isModelProvider, type ModelProvider } from './provider-auth.js'

/**
 * A runner that lends model keys: a launch's `{{model-key:<provider>}}` and `{{model-url:<provider>}}`
 * (model-access.ts) become a token minted for that process and the proxy's URL; the tokens are revoked once
 * the process ended. A container cannot reach the proxy on the host's loopback: its launch gets the real key
 * and upstream URL, as before the proxy. The first launch that needs the proxy starts its thread and waits for it
 * to listen (its URL holds the port); launches after it start at once.
 */
export class KeyedRunner implements ProcessRunner, ModelAccess {
  readonly kind: RunnerInfo['kind']

  constructor(
    private readonly inner: ProcessRunner,
    private readonly proxy: KeyProxy,
  ) {
    this.kind = inner.kind
  }

  fronts(provider: ModelProvider): boolean {
    return this.proxy.fronts(provider)
  }

  /** `text` with the real key and upstream URL in place of the placeholders (a container's launch, a benchmark's direct CLI). */
  withRealKeys(text: string): string {
    return text.replace(placeholderPattern, (whole, what: string, name: string) => {
      const up = isModelProvider(name) ? this.proxy.upstream(name) : undefined
      return (what === 'key' ? up?.key : up?.url) ?? whole
    })
  }

  start(spec: LaunchSpec): RunningProcess {
    if (this.proxy.isReady || !this.lendsKeys(spec)) return this.startNow(spec)
    return deferredProcess(spec, this.proxy.ready(), () => this.startNow(spec))
  }

  /** Whether `spec` names a key or URL the proxy serves (a local launch with a placeholder of a fronted provider). */
  private lendsKeys(spec: LaunchSpec): boolean {
    if (spec.isolation === 'container') return false
    const texts = [...spec.args, ...Object.values(spec.env), ...(spec.files ?? []).map((f) => f.content)]
    return texts.some((text) =>
      [...(text ?? '').matchAll(placeholderPattern)].some(
        ([, , name = '']) => isModelProvider(name) && this.proxy.fronts(name),
      ),
    )
  }

  private startNow(spec: LaunchSpec): RunningProcess {
    const tokens = new Map<ModelProvider, string>()
    const direct = spec.isolation === 'container'
    const fill = (s: string): string =>
      s.replace(placeholderPattern, (whole, what: string, name: string) => {
        if (!isModelProvider(name) || !this.proxy.fronts(name)) return whole
        if (direct) return this.withRealKeys(whole)
        if (what === 'url') return this.proxy.url(name)
        let token = tokens.get(name)
        if (!token) {
          token = this.proxy.mint(name)
          tokens.set(name, token)
        }
        return token
      })
    const env: NodeJS.ProcessEnv = {}
    for (const [name, value] of Object.entries(spec.env))
      env[name] = value === undefined ? value : fill(value)
    const args = spec.args.map(fill)
    const files = spec.files?.map((f) => ({ ...f, content: fill(f.content) }))
    if (tokens.size > 0) Object.assign(env, loopbackUnproxied(env))
    let proc: RunningProcess
    try {
      proc = this.inner.start({ ...spec, env, args, ...(files ? { files } : {}) })
    } catch (err) {
      for (const token of tokens.values()) this.proxy.revoke(token)
      throw err
    }
    if (tokens.size === 0) return proc
    const done = proc.done.then((outcome) => {
      for (const token of tokens.values()) this.proxy.revoke(token)
      return outcome
    })
    const lent = (provider: ModelProvider) => {
      const token = tokens.get(provider)
      return token ? { url: this.proxy.url(provider), token } : undefined
    }
    return wrappedProcess(proc, done, { lent, ...(proc.endEscaped ? { endEscaped: proc.endEscaped } : {}) })
  }

  reclaim(leftover?: Leftover): Promise<boolean> {
    return this.inner.reclaim(leftover)
  }

  describe(): Promise<RunnerInfo> {
    return this.inner.describe()
  }
}

const proxyVariables = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy']

/** With an HTTP proxy in the env, 127.0.0.1 added to NO_PROXY: the key proxy is reached directly. */
function loopbackUnproxied(env: NodeJS.ProcessEnv): Record<string, string> {
  if (!proxyVariables.some((name) => env[name])) return {}
  const add = (list: string | undefined) =>
    list?.split(',').some((h) => h.trim() === '127.0.0.1') ? list : list ? `${list},127.0.0.1` : '127.0.0.1'
  return { NO_PROXY: add(env.NO_PROXY), no_proxy: add(env.no_proxy ?? env.NO_PROXY) }
}
