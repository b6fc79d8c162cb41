import type { Config } from '../../config/load.js'
import type { AgentEvent } from '../../protocol/events.js'
import { AppServerHost, type OpenedThread } from '../codex-app-server/app-server-host.js'
import type {
  AppServerProcess,
  AppServerProcessOptions,
  ClientMethod,
  ParamsOf,
} from '../codex-app-server/app-server-process.js'
import { CodexSession } from '../codex-app-server/codex-session.js'
import { HostLease } from '../codex-app-server/host-lease.js'
import type { IncludeOnlyReader } from '../codex-app-server/include-only-reader.js'
import { ReadyThreads } from '../codex-app-server/ready-threads.js'
import { type ThreadSettings, threadSettings } from '../codex-app-server/thread-settings.js'
import { warmable, warmRun } from '../codex-app-server/warm-run.js'
import { modelListResponse } from '../codex-app-server/wire-schemas.js'
import type { RunRequest } from '../driver.js'
import { containerImages, innerSandbox, placed } from '../placement.js'
import type { AgentSession, SessionHooks, SessionRequest } from '../session.js'

/** Pages of model/list read at most (the catalog is small; this only bounds a misbehaving server). */
const maxModelPages = 20

/**
 * What the `codex` driver (driver.ts) does on codex app-server: the one shared app-server and its threads (sessions,
 * warm one-shot runs and the threads started ahead for them), the app-servers of sessions in containers, and
 * requests passed through. Loaded with the driver's first session, warm run or call (util/first-use.ts), not with
 * the server: an idle gateway does not hold these modules (docs/ARCHITECTURE.md, "Start").
 */
export class CodexAppServerEngine {
  readonly host: AppServerHost
  /** Threads started ahead for the next warm one-shot run (ready-threads.ts). */
  readonly readyThreads: ReadyThreads
  /** The app-servers of sessions in containers. */
  private readonly own = new Set<HostLease>()

  constructor(
    private readonly config: Config,
    private readonly hostOptions: AppServerProcessOptions,
    includeOnly: IncludeOnlyReader,
    readyThreadKeepMs?: number,
  ) {
    this.host = new AppServerHost({ ...hostOptions, includeOnly })
    this.readyThreads = new ReadyThreads(this.host, readyThreadKeepMs)
  }

  /** The shared app-server process (it starts with its first request). */
  get process(): AppServerProcess {
    return this.host.process
  }

  /** Whether a one-shot run can be a thread of its own on the shared app-server (warm-run.ts). */
  warmable(req: RunRequest): boolean {
    return warmable(req)
  }

  warmRun(id: string, req: RunRequest, signal: AbortSignal): AsyncGenerator<AgentEvent> {
    // a run never asks (approval `never`): codex retries no denied command unsandboxed
    return warmRun(this.host, id, threadSettings(req, this.config, false), req, signal, this.readyThreads)
  }

  openSession(req: SessionRequest, hooks: SessionHooks): Promise<AgentSession> {
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

  /** Ends the shared app-server and those of sessions in containers; the threads started ahead end with it. */
  async close(): Promise<void> {
    await this.readyThreads.close()
    await Promise.all([this.host.close(), ...[...this.own].map((lease) => lease.end())])
  }
}
