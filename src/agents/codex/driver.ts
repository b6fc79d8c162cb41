import { existsSync } from 'node:fs'
import type { Config } from '../../config/load.js'
import { realCwd } from '../../process/pinned-cwd.js'
import type { ProcessRunner } from '../../process/runner.js'
import type { AgentEvent } from '../../protocol/events.js'
import { type FirstUse, firstUse } from '../../util/first-use.js'
import type { AppServerProcess, AppServerProcessOptions } from '../codex-app-server/app-server-process.js'
import { codexHomeOf } from '../codex-app-server/config-files.js'
import { type ClosableConfigRead, configReadVia } from '../codex-app-server/config-read-once.js'
import { IncludeOnlyReader } from '../codex-app-server/include-only-reader.js'
import type { ReadyThreads } from '../codex-app-server/ready-threads.js'
import type { UnknownHandler } from '../codex-app-server/rpc.js'
import { type AgentStatus, capabilities, type RunRequest, type WarmPoolCounts } from '../driver.js'
import type { AgentSession, SessionDriver, SessionHooks, SessionRequest } from '../session.js'
import type { CodexAppServerEngine } from './app-server-engine.js'
import { CodexExecDriver, codexMaxInputChars } from './exec-driver.js'

export interface CodexDriverOptions {
  /** `clientInfo.name` given to codex app-server (codex records it as the threads' originator). */
  clientName?: string
  clientVersion?: string
  /** Time limit of app-server requests (not of turns). Default: CODEX_REQUEST_TIMEOUT, read at each request. */
  requestTimeoutMs?: number
  /** Each line the app-server writes to stderr (its log). */
  onStderr?: (line: string) => void
  /** Lines from the app-server that are not usable JSON-RPC messages. */
  onUnknown?: UnknownHandler
  /** Where codex runs (default: a local process group). */
  runner?: ProcessRunner
  /** How long a thread started ahead for the next warm one-shot run waits for it (default 5 min). */
  readyThreadKeepMs?: number
}

const noWarmRuns: WarmPoolCounts = { started: 0, served: 0, waiting: 0 }

export const codexCapabilities = capabilities(
  'sessions',
  'approvals',
  'fork',
  'interrupt',
  'images',
  'outputSchema',
  'turnOutputSchema',
  'steer',
)

/**
 * `codex`: sessions on ONE long-lived `codex app-server` (threads, turns, approvals, fork, interrupt, resume);
 * one-shot runs on a thread of their own on the same app-server when they can (warm-run.ts), else on
 * `codex exec` (CodexExecDriver). The app-server starts on first use and again after it died; `close()` ends it.
 * A session with `isolation: "container"` gets an app-server of its own in a container that lives as long as
 * the session (and its forks): closing the session (archive, shutdown) ends the container.
 *
 * This class is what the server holds from its start (id, capabilities, probe, `codex exec`); the app-server side
 * is CodexAppServerEngine (app-server-engine.ts), loaded with the first session, warm run or call and then called
 * directly.
 */
export class CodexDriver implements SessionDriver {
  readonly id = 'codex'
  readonly capabilities = codexCapabilities
  /** `turn/start` takes an approval policy for its turn (codex-session.ts: turnApproval). */
  readonly approvalPolicyPerTurn = true
  readonly imageUrls = true
  /** Its `userMessage` item echoes a turn's input, data: URL images inline, on one JSON-RPC line. */
  readonly echoesInput = true
  readonly maxInputChars = codexMaxInputChars
  readonly exec: CodexExecDriver
  private readonly engine: FirstUse<CodexAppServerEngine>
  /** codex's `include_only` per cwd, keeping the markers (include-only-reader.ts). */
  readonly includeOnly: IncludeOnlyReader
  /** Its reads, and the short-lived app-servers of those in flight (closed with the driver). */
  private readonly configReads: ClosableConfigRead
  /** onAppServerExit listeners given before the engine was loaded: each subscribes once it is. */
  private readonly exitListenersToAdd = new Set<(engine: CodexAppServerEngine) => void>()
  private closed = false

  constructor(
    private readonly config: Config,
    serverEnv: NodeJS.ProcessEnv = process.env,
    options: CodexDriverOptions = {},
  ) {
    this.exec = new CodexExecDriver(config, serverEnv, options.runner)
    const hostOptions: AppServerProcessOptions = {
      config,
      serverEnv,
      ...(options.runner ? { runner: options.runner } : {}),
      clientName: options.clientName ?? config.CODEX_CLIENT_NAME ?? 'agent-gateway',
      ...(options.clientVersion ? { clientVersion: options.clientVersion } : {}),
      // Not a workspace: the app-server serves every session and run (each thread has its own cwd), and
      // nothing of it should look like a process a run or session left in its directory.
      cwd: existsSync(config.DATA_DIR) ? realCwd(config.DATA_DIR) : realCwd(),
      // without it, CODEX_REQUEST_TIMEOUT as it is at each request (AppServerProcessOptions.requestTimeoutMs)
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.onStderr ? { onStderr: options.onStderr } : {}),
      ...(options.onUnknown ? { onUnknown: options.onUnknown } : {}),
    }
    // codex's include_only per cwd, for the shared app-server's threads and exec runs alike: read through the
    // shared app-server when it runs or warm runs keep it anyway, else through one started for the read and
    // closed after it (warm runs off: no app-server is left running)
    const kept = async () => {
      if (config.CODEX_WARM_RUNS) return (this.engine.loaded ?? (await this.engine.load())).process
      const running = this.engine.loaded?.process
      return running?.pid !== undefined ? running : undefined
    }
    this.configReads = configReadVia(hostOptions, kept)
    this.includeOnly = new IncludeOnlyReader(this.configReads.read, codexHomeOf(config, serverEnv))
    this.exec.includeOnly = this.includeOnly
    this.engine = firstUse(async () => {
      const { CodexAppServerEngine } = await import('./app-server-engine.js')
      const engine = new CodexAppServerEngine(
        config,
        hostOptions,
        this.includeOnly,
        options.readyThreadKeepMs,
      )
      for (const subscribe of this.exitListenersToAdd) subscribe(engine)
      this.exitListenersToAdd.clear()
      // closed while it loaded: its calls fail as those of a closed app-server do
      if (this.closed) await engine.close()
      return engine
    })
  }

  get warmPool(): WarmPoolCounts {
    return this.engine.loaded?.readyThreads ?? noWarmRuns
  }

  /** Threads started ahead for the next warm one-shot run (ready-threads.ts); there once the engine is loaded. */
  get readyThreads(): ReadyThreads {
    const engine = this.engine.loaded
    if (!engine) throw new Error('codex: no run or session loaded the app-server engine yet')
    return engine.readyThreads
  }

  get binary(): string | null {
    return this.exec.binary
  }

  /** The app-server's pid while one runs (it starts on first use). */
  get appServerPid(): number | undefined {
    return this.engine.loaded?.process.pid
  }

  /** Hears every app-server exit (crash, kill, close): `generation` counts restarts from 1. */
  onAppServerExit(listener: Parameters<AppServerProcess['onExit']>[0]): () => void {
    const engine = this.engine.loaded
    if (engine) return engine.process.onExit(listener)
    let off: (() => void) | undefined
    const subscribe = (loaded: CodexAppServerEngine) => {
      off = loaded.process.onExit(listener)
    }
    this.exitListenersToAdd.add(subscribe)
    return () => {
      this.exitListenersToAdd.delete(subscribe)
      off?.()
    }
  }

  async probe(): Promise<AgentStatus> {
    return { ...(await this.exec.probe()), id: this.id }
  }

  /**
   * One-shot runs: a thread of their own on the shared running app-server when the run allows it (warmable) and
   * CODEX_WARM_RUNS is on, else `codex exec`; the same events either way, which name this driver.
   */
  async *run(req: RunRequest, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    // With a default container image (Docker mode) every run gets a container of its own: never the shared host.
    const containersByDefault = (this.config.CONTAINER_IMAGE ?? this.config.CODEX_DOCKER_IMAGE) !== undefined
    if (this.config.CODEX_WARM_RUNS && !containersByDefault && this.exec.binary) {
      const engine = this.engine.loaded ?? (await this.engine.load())
      if (engine.warmable(req)) {
        yield* engine.warmRun(this.id, req, signal)
        return
      }
    }
    for await (const ev of this.exec.run(req, signal)) yield 'agent' in ev ? { ...ev, agent: this.id } : ev
  }

  async openSession(req: SessionRequest, hooks: SessionHooks): Promise<AgentSession> {
    return (this.engine.loaded ?? (await this.engine.load())).openSession(req, hooks)
  }

  /** `thread/resume` in the running app-server; an open session of the thread is reused (with these hooks). */
  async resumeSession(
    agentSessionId: string,
    req: SessionRequest,
    hooks: SessionHooks,
  ): Promise<AgentSession> {
    return (this.engine.loaded ?? (await this.engine.load())).resumeSession(agentSessionId, req, hooks)
  }

  /** Passes a request through to the app-server as is (skills/list, skills/config/write, thread/read, ...). */
  async call(method: string, params: unknown): Promise<unknown> {
    return (this.engine.loaded ?? (await this.engine.load())).call(method, params)
  }

  /** The ids of the models codex offers (`model/list`, every page). */
  async listModels(): Promise<string[]> {
    return (this.engine.loaded ?? (await this.engine.load())).listModels()
  }

  /**
   * Ends the app-server (running turns fail with "codex app-server was closed"); later calls fail. The threads
   * started ahead end with it, unsubscribed from nothing.
   */
  async close(): Promise<void> {
    this.closed = true
    const loaded = this.engine.loaded
    // one still loading (a first run or session under way) closes itself once it is there (see the constructor)
    const loading = !loaded && this.engine.loading ? this.engine.load().catch(() => {}) : undefined
    await Promise.all([loaded?.close(), loading, this.configReads.close()])
  }
}
