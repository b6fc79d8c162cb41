import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads'
import type { EgressSettings } from './egress.js'
import type { ThreadData, ThreadReport, TokenChange } from './key-proxy-thread.js'
import type { ModelProvider } from './provider-auth.js'
import type { Upstream } from './proxy-server.js'
import { newToken, tokenDigest } from './tokens.js'

export type { Upstream } from './proxy-server.js'

export interface KeyProxyHooks {
  /** A token was minted (`live`) or revoked: the gateway redacts live tokens like the keys. */
  onToken?(token: string, live: boolean): void
  /**
   * The proxy's thread ended unasked (`error`: why, if it said); it is started again on the same port (at once,
   * or, when it died again within a second of that, by the next launch that needs it).
   */
  onThreadEnded?(error: Error | undefined): void
}

export interface KeyProxyOptions {
  /** The server's egress proxy (HTTP_PROXY, HTTPS_PROXY, NO_PROXY): upstream calls go through it. */
  egress?: EgressSettings
}

/** How long close() lets the thread end its connections before it ends the thread. */
const closeWaitMs = 2000

/** A thread that dies within this long of its last restart waits for the next launch to start it. */
const restartSpacingMs = 1000

/** The thread serving now: the worker and the port its token changes go to. */
interface Thread {
  worker: Worker
  changes: MessagePort
  /** Set once close() asked it to end: its exit is no crash. */
  closing: boolean
}

/**
 * The key-holding proxy: agents never get a provider key. Each agent process gets a token of its own and this
 * proxy's URL as its base URL; the proxy swaps a live token for the real key and forwards to that provider's
 * upstream only (proxy-server.ts). The serving runs on a worker thread of its own (key-proxy-thread.ts), started
 * with the first need of it (`ready`); this side, on the gateway's thread, mints and revokes the tokens and keeps
 * the list of live ones, which a thread started again after a crash is given whole.
 */
export class KeyProxy {
  /** Live tokens by digest: the truth; the thread has a copy. */
  private readonly live = new Map<string, ModelProvider>()
  private thread: Thread | undefined
  private starting: Promise<void> | undefined
  private listenPort = 0
  private closed = false
  /** When the thread was last started again after it died (performance.now()). */
  private restartedAt = Number.NEGATIVE_INFINITY

  private constructor(
    private readonly upstreams: Upstream[],
    private readonly hooks: KeyProxyHooks,
    private readonly options: KeyProxyOptions,
  ) {}

  /** A proxy whose thread starts with the first `ready()` (a gateway that never lends a key never starts it). */
  static create(upstreams: Upstream[], hooks: KeyProxyHooks = {}, options: KeyProxyOptions = {}): KeyProxy {
    return new KeyProxy(upstreams, hooks, options)
  }

  /** A proxy already serving. */
  static async start(
    upstreams: Upstream[],
    hooks: KeyProxyHooks = {},
    options: KeyProxyOptions = {},
  ): Promise<KeyProxy> {
    const proxy = KeyProxy.create(upstreams, hooks, options)
    await proxy.ready()
    return proxy
  }

  /** Whether the thread listens: `url()` and `mint()` may be used at once (else `await ready()` first). */
  get isReady(): boolean {
    return this.thread !== undefined && this.starting === undefined
  }

  /** Resolves once the thread listens (starting it if none runs); rejects when it cannot start. */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the key proxy is closed'))
    if (this.thread && !this.starting) return Promise.resolve()
    this.starting ??= this.startThread().finally(() => {
      this.starting = undefined
    })
    return this.starting
  }

  get port(): number {
    if (!this.listenPort) throw new Error('the key proxy is not serving yet (await ready())')
    return this.listenPort
  }

  fronts(provider: ModelProvider): boolean {
    return this.upstreams.some((u) => u.provider === provider)
  }

  /** The base URL an agent of `provider` is given. */
  url(provider: ModelProvider): string {
    return `http://127.0.0.1:${this.port}/${provider}`
  }

  /** The real base URL and key of `provider` (for a launch the proxy cannot serve: a container). */
  upstream(provider: ModelProvider): { url: string; key: string } | undefined {
    const u = this.upstreams.find((u) => u.provider === provider)
    return u ? { url: new URL(u.url).href.replace(/\/$/, ''), key: u.key } : undefined
  }

  /**
   * A fresh token for one agent process, good for `provider` only, until revoked. Live on the thread for any call
   * made after this returned: the change is on the thread's port, which it reads before each token check.
   */
  mint(provider: ModelProvider): string {
    const token = newToken()
    const digest = tokenDigest(token)
    this.live.set(digest, provider)
    this.tell({ digest, provider })
    this.hooks.onToken?.(token, true)
    return token
  }

  /** Refused for any call made after this returned. */
  revoke(token: string): void {
    const digest = tokenDigest(token)
    if (!this.live.delete(digest)) return
    this.tell({ digest })
    this.hooks.onToken?.(token, false)
  }

  get liveTokens(): number {
    return this.live.size
  }

  /** Ends the thread, as a crash would (the proxy starts it again): for tests of that path. */
  async crashThread(): Promise<void> {
    await this.thread?.worker.terminate()
  }

  /** Ends the thread (its server, sockets and upstream connections first). */
  async close(): Promise<void> {
    this.closed = true
    await this.starting?.catch(() => {})
    const thread = this.thread
    this.thread = undefined
    if (!thread) return
    thread.closing = true
    const exited = new Promise<void>((resolve) => thread.worker.once('exit', () => resolve()))
    thread.worker.postMessage('close')
    // a thread that does not finish closing in time is ended as it is
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, closeWaitMs)
    })
    await Promise.race([exited, reported(thread.worker, 'closed'), late])
    clearTimeout(timer)
    await thread.worker.terminate()
    thread.changes.close()
  }

  private tell(change: TokenChange): void {
    this.thread?.changes.postMessage(change)
  }

  private async startThread(): Promise<void> {
    const channel = new MessageChannel()
    const data: ThreadData = {
      upstreams: this.upstreams,
      port: this.listenPort,
      live: [...this.live],
      changes: channel.port2,
      ...(this.options.egress ? { egress: this.options.egress } : {}),
    }
    const worker = threadWorker(data, [channel.port2])
    // the gateway's process may end without closing it (a script, a failed start)
    worker.unref()
    const thread: Thread = { worker, changes: channel.port1, closing: false }
    this.thread = thread
    let error: Error | undefined
    worker.on('error', (err) => {
      error = err
    })
    const exited = new Promise<never>((_, reject) =>
      worker.once('exit', () => {
        channel.port1.close()
        if (this.thread === thread) this.thread = undefined
        reject(error ?? new Error('the key proxy thread ended before it listened'))
      }),
    )
    exited.catch(() => {})
    const port = await Promise.race([listening(worker), exited]).catch((err: Error) => {
      // the port a crashed thread held may still be taken: agents started since hold it, new ones get another
      if (/EADDRINUSE/.test(`${(err as NodeJS.ErrnoException).code} ${err.message}`)) this.listenPort = 0
      throw new Error(`the key proxy could not start: ${err.message}`)
    })
    this.listenPort = port
    exited.catch(() => {
      if (thread.closing || this.closed) return
      this.hooks.onThreadEnded?.(error)
      // a thread that keeps dying is not started again in a loop: the next launch that needs it starts it
      const now = performance.now()
      if (now - this.restartedAt < restartSpacingMs) return
      this.restartedAt = now
      this.ready().catch(() => {})
    })
  }
}

/** The thread from the built file, or, run from source (tests, tsx), through tsx's loader registered first. */
function threadWorker(data: ThreadData, transfer: MessagePort[]): Worker {
  const options = { workerData: data, transferList: transfer }
  const here = import.meta.url
  if (!here.endsWith('.ts')) return new Worker(new URL('./key-proxy-thread.js', here), options)
  // tsx's ESM entry (`require.resolve` would give its CommonJS one)
  const tsx = pathToFileURL(
    createRequire(here)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href
  const bootstrap = `(async () => {
    const { register } = await import(${JSON.stringify(tsx)})
    register()
    await import(${JSON.stringify(new URL('./key-proxy-thread.ts', here).href)})
  })()`
  return new Worker(bootstrap, { ...options, eval: true })
}

function reported(worker: Worker, type: ThreadReport['type']): Promise<ThreadReport> {
  return new Promise((resolve) => {
    const seen = (r: ThreadReport) => {
      if (r.type !== type) return
      worker.off('message', seen)
      resolve(r)
    }
    worker.on('message', seen)
  })
}

async function listening(worker: Worker): Promise<number> {
  const r = await reported(worker, 'listening')
  return r.type === 'listening' ? r.port : 0
}
