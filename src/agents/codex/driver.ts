import { existsSync } from 'node:fs'
import type { Config } from '../../config/load.js'
import { realCwd } from '../../process/pinned-cwd.js'
import type { ProcessRunner } from '../../process/runner.js'
import type { AgentEvent } from '../../protocol/events.js'
import { AppServerHost, type OpenedThread } from '../codex-app-server/app-server-host.js'
import type {
  AppServerProcess,
  AppServerProcessOptions,
  ClientMethod,
  ParamsOf,
} from '../codex-app-server/app-server-process.js'
import { CodexSession } from '../codex-app-server/codex-session.js'
import { codexHomeOf } from '../codex-app-server/config-files.js'
import { type ClosableConfigRead, configReadVia } from '../codex-app-server/config-read-once.js'
import { HostLease } from '../codex-app-server/host-lease.js'
import { IncludeOnlyReader } from '../codex-app-server/include-only-reader.js'
import { ReadyThreads } from '../codex-app-server/ready-threads.js'
import type { UnknownHandler } from '../codex-app-server/rpc.js'
import { type ThreadSettings, threadSettings } from '../codex-app-server/thread-settings.js'
import { warmable, warmRun } from '../codex-app-server/warm-run.js'
import { modelListResponse } from '../codex-app-server/wire-schemas.js'
import { type AgentStatus, capabilities, type RunRequest, type WarmPoolCounts } from '../driver.js'
import { containerImages, innerSandbox, placed } from '../placement.js'
import type { AgentSession, SessionDriver, SessionHooks, SessionRequest } from '../session.js'
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

/** Pages of model/list read at most (the catalog is small; this only bounds a misbehaving server). */
const maxModelPages = 20

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
  private readonly host: AppServerHost
  /** Threads started ahead for the next warm one-shot run (ready-threads.ts). */
  readonly readyThreads: ReadyThreads
  get warmPool(): WarmPoolCounts {
    return this.readyThreads
  }
  private readonly hostOptions: AppServerProcessOptions
  /** codex's `include_only` per cwd, keeping the markers (include-only-reader.ts). */
  readonly includeOnly: IncludeOnlyReader
  /** Its reads, and the short-lived app-servers of those in flight (closed with the driver). */
  private readonly configReads: ClosableConfigRead
  /** The app-servers of sessions in containers. */
  private readonly own = new Set<HostLease>()

  constructor(
    private readonly config: Config,
    serverEnv: NodeJS.ProcessEnv = process.env,
    options: CodexDriverOptions = {},
  ) {
    this.exec = new CodexExecDriver(config, serverEnv, options.runner)
    this.hostOptions = {
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
    const kept = () =>
      config.CODEX_WARM_RUNS || this.host.process.pid !== undefined ? this.host.process : undefined
    this.configReads = configReadVia(this.hostOptions, kept)
    this.includeOnly = new IncludeOnlyReader(this.configReads.read, codexHomeOf(config, serverEnv))
    this.host = new AppServerHost({ ...this.hostOptions, includeOnly: this.includeOnly })
    this.exec.includeOnly = this.includeOnly
    this.readyThreads = new ReadyThreads(this.host, options.readyThreadKeepMs)
  }

  get binary(): string | null {
    return this.exec.binary
  }

  /** The app-server's pid while one runs (it starts on first use). */
  get appServerPid(): number | undefined {
    return this.host.process.pid
  }

  /** Hears every app-server exit (crash, kill, close): `generation` counts restarts from 1. */
  onAppServerExit(listener: Parameters<AppServerProcess['onExit']>[0]): () => void {
    return this.host.process.onExit(listener)
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
    if (this.config.CODEX_WARM_RUNS && !containersByDefault && this.exec.binary && warmable(req)) {
      // a run never asks (approval `never`): codex retries no denied command unsandboxed
      const settings = threadSettings(req, this.config, false)
      yield* warmRun(this.host, this.id, settings, req, signal, this.readyThreads)
      return
    }
    for await (const ev of this.exec.run(req, signal)) yield 'agent' in ev ? { ...ev, agent: this.id } : ev
  }

  async openSession(req: SessionRequest, hooks: SessionHooks): Promise<AgentSession> {
    // the model's calls, to tell its unsandboxed runs apart where they are not allowed (escalated-calls.ts)
    return this.sessionOn(req, hooks, (host, settings) =>
      host.startThread(settings, { rawEvents: settings.escalationAllowed !== true }),
    )
  }

  /** `thread/resume` in the running app-server; an open session of the thread is reused (with these hooks). */
  async resumeSession(
    agentSessionId: string,
    req: SessionRequest,
    hooks: SessionHooks,
  ): Promise<AgentSession> {
    const hosts = [this.host, ...[...this.own].map((lease) => lease.host)]
    const existing = hosts.map((host) => host.listener(agentSessionId)).find((l) => l !== undefined)
    if (existing instanceof CodexSession && existing.isOpen) {
      existing.hooks = hooks
      return existing
    }
    return this.sessionOn(req, hooks, async (host, settings) => ({
      ...(await host.resumeThread(agentSessionId, settings)),
      threadId: agentSessionId,
    }))
  }

  /**
   * A session on the shared app-server, or on an app-server of its own in a container (`isolation`), whose
   * thread `open` starts or resumes there; the model is the one asked for, else the one codex runs it with.
   */
  private async sessionOn(
    req: SessionRequest,
    hooks: SessionHooks,
    open: (host: AppServerHost, settings: ThreadSettings) => Promise<OpenedThread>,
  ): Promise<AgentSession> {
    const settings = threadSettings(req, this.config)
    const lease = req.isolation === 'container' ? this.containerHost(req, settings) : undefined
    const host = lease?.host ?? this.host
    const inner = { ...settings, sandbox: innerSandbox(req, settings.sandbox) }
    try {
      const opened = await open(host, inner)
      const model = inner.model ?? opened.model
      const full = { ...inner, ...(model ? { model } : {}) }
      return new CodexSession(host, opened.threadId, full, hooks, lease, opened.approvalPolicy)
    } catch (err) {
      await lease?.end()
      throw err
    }
  }

  /**
   * An app-server of its own for one session, in a container (CODEX_HOME mounted, the cwd per sandbox, and
   * read-only the directory the core copies its turns' images into: SessionRequest.imageDir, at containerImages,
   * whatever DATA_DIR's path; removed once the container ended).
   */
  private containerHost(req: SessionRequest, settings: ThreadSettings): HostLease {
    const images = req.imageDir?.()
    const imageMount = images && { path: images.path, target: containerImages, writable: false }
    const host = new AppServerHost({
      ...this.hostOptions,
      cwd: req.cwd,
      placement: placed(req, 'codex', [this.config.CODEX_HOME, imageMount], settings.sandbox !== 'read-only'),
    })
    const lease = new HostLease(
      host,
      async () => {
        this.own.delete(lease)
        await images?.remove()
      },
      imageMount,
    )
    this.own.add(lease)
    return lease
  }

  /** Passes a request through to the app-server as is (skills/list, skills/config/write, thread/read, ...). */
  call(method: string, params: unknown): Promise<unknown> {
    return this.host.request(method as ClientMethod, params as ParamsOf<ClientMethod>)
  }

  /** The ids of the models codex offers (`model/list`, every page). */
  async listModels(): Promise<string[]> {
    const ids: string[] = []
    let cursor: string | null | undefined
    for (let page = 0; page < maxModelPages; page++) {
      const answer = modelListResponse.safeParse(
        await this.host.request('model/list', cursor ? { cursor } : {}),
      )
      if (!answer.success) throw new Error('codex app-server answered model/list with no model list')
      ids.push(...answer.data.data.map((m) => m.id))
      cursor = answer.data.nextCursor
      if (!cursor) break
    }
    return ids
  }

  /**
   * Ends the app-server (running turns fail with "codex app-server was closed"); later calls fail. The threads
   * started ahead end with it, unsubscribed from nothing.
   */
  async close(): Promise<void> {
    await this.readyThreads.close()
    await Promise.all([
      this.host.close(),
      this.configReads.close(),
      ...[...this.own].map((lease) => lease.end()),
    ])
  }
}
