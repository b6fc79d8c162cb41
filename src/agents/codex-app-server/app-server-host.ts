import { randomUUID } from 'node:crypto'
import { ownerVariable } from '../../process/process-marker.js'
import type { ForkedHead } from '../session.js'
import { TurnDirectories } from '../turn-directories.js'
import {
  AppServerProcess,
  type AppServerProcessOptions,
  type ClientMethod,
  type ParamsOf,
} from './app-server-process.js'
import { approvalMethods, parseApproval } from './approvals.js'
import type { AskForApproval } from './generated/v2/AskForApproval.js'
import type { RpcClosedError } from './rpc-errors.js'
import type { RequestId } from './rpc-message.js'
import { type ThreadSettings, threadParams } from './thread-settings.js'
import { threadIdOf } from './wire-read.js'
import { conversationRef, threadResponse, turnsListResponse } from './wire-schemas.js'

/** How often, and how far apart, a resume is retried while codex is still closing the thread. */
const closingRetries = 40
const closingRetryMs = 50

/** A session as the host sees it: what codex says about its thread, and the process ending under it. */
export interface ThreadListener {
  notification(method: string, params: unknown): void
  /** Answers a server request (approvals) about the thread. */
  request(method: string, params: unknown, id: RequestId): Promise<unknown>
  /** The app-server process of `generation` ended. */
  exit(error: RpcClosedError, generation: number): void
}

export interface OpenedThread {
  threadId: string
  /** The model codex runs the thread with. */
  model: string | undefined
  /** The approval policy codex runs the thread's turns with (its own unless a turn names one). */
  approvalPolicy?: AskForApproval
  /** The thread's rollout file, where codex records the model's calls (codex 0.171 names it in every answer). */
  rollout?: string
}

/**
 * One codex app-server (one CODEX_HOME) shared by every session: routes notifications and approval requests to
 * the session of their thread, and knows which threads the running process has loaded. A restarted process
 * knows none of them, so `ensureLoaded` resumes a thread (`thread/resume`) before it is used again.
 */
export class AppServerHost {
  readonly process: AppServerProcess
  private readonly listeners = new Map<string, ThreadListener>()
  /** thread id -> the process generation it is loaded in. */
  private readonly loaded = new Map<string, number>()
  /**
   * thread id -> the approval policy (as JSON) the loaded thread's last turn/start gave codex, which codex keeps for
   * the thread's next turns: a turn/start that would give the same again leaves it out. Forgotten whenever the
   * thread is opened (started, forked, resumed) or let go of, so the first turn after that names it again.
   */
  private readonly turnApprovals = new Map<string, { policy: string; generation: number }>()
  /** thread id -> the owner value its commands carry (escaped-processes.ts), for the threads loaded. */
  private readonly owners = new Map<string, string>()
  /** thread id -> its rollout file, as codex last named it (escalated-calls.ts). */
  private readonly rollouts = new Map<string, string>()
  /** thread id -> what waits for codex to report it closed (unload). */
  private readonly closing = new Map<string, () => void>()
  /** Why recent generations ended (an answer can arrive just before its process is reported gone). */
  private readonly exits = new Map<number, RpcClosedError>()
  /** The cwd of every turn running on this host (sessions' and warm runs'): what escaped commands end with. */
  private readonly turnDirectories: TurnDirectories

  constructor(options: AppServerProcessOptions) {
    this.process = new AppServerProcess(options)
    this.turnDirectories = new TurnDirectories((scope) => this.process.endEscaped(scope))
    this.process.onNotification((method, params) => this.route(method, params))
    this.process.onRequest((method, params, id) => this.answer(method, params, id))
    this.process.onExit((error, generation) => this.exited(error, generation))
  }

  listen(threadId: string, listener: ThreadListener): void {
    this.listeners.set(threadId, listener)
  }

  unlisten(threadId: string, listener: ThreadListener): void {
    if (this.listeners.get(threadId) === listener) this.listeners.delete(threadId)
  }

  listener(threadId: string): ThreadListener | undefined {
    return this.listeners.get(threadId)
  }

  /**
   * A turn of `threadId` in `cwd` runs on this host; the returned function says it ended (TurnDirectories.began).
   * Its commands name the thread's owner value (given when the thread was loaded), read when the turn ended (the
   * thread's id too: a session may go on in a new thread, codex-session.ts startedAnew).
   * `profiled`: the thread runs a permission profile when the turn ends, under which codex starts its sandboxed
   * file-system helper (TurnDirectories' `startsHelpers`; app-server-launch.ts `runsProfiles`).
   */
  turnBegan(threadId: () => string, cwd: string, profiled: () => boolean): (sweep: boolean) => Promise<void> {
    return this.turnDirectories.began(cwd, () => this.owners.get(threadId()), profiled)
  }

  /** A thread that worked in `cwd` was let go of: what escaped for it naming none ends (TurnDirectories.threadEnded). */
  threadEnded(cwd: string): Promise<void> {
    return this.turnDirectories.threadEnded(cwd)
  }

  /** Whether the running process has the thread loaded. */
  isLoaded(threadId: string): boolean {
    const generation = this.process.generation
    return generation !== undefined && this.loaded.get(threadId) === generation
  }

  /**
   * `thread/unsubscribe`, asked only of a running process that holds the thread (never start one for that),
   * within `timeoutMs`. The thread counts as let go from now on, so a resume that comes while the answer is on
   * its way resumes it.
   */
  async letGo(threadId: string, timeoutMs: number): Promise<void> {
    const loaded = this.isLoaded(threadId)
    this.forget(threadId)
    if (loaded) await this.request('thread/unsubscribe', { threadId }, timeoutMs).catch(() => {})
  }

  /**
   * letGo, and resolves once codex reports the thread closed (`thread/closed`, which it sends after its answer to
   * `thread/unsubscribe`) or after `timeoutMs`: a resume sent before that notification would be forgotten by it
   * (route). For a thread resumed at once with other settings (codex-session.ts `profiledFor`).
   */
  async unload(threadId: string, timeoutMs: number): Promise<void> {
    if (!this.isLoaded(threadId)) return this.forget(threadId)
    let timer: NodeJS.Timeout | undefined
    const closed = new Promise<void>((resolve) => {
      this.closing.set(threadId, resolve)
      timer = setTimeout(resolve, timeoutMs)
    })
    try {
      await this.letGo(threadId, timeoutMs)
      await closed
    } finally {
      clearTimeout(timer)
      this.closing.delete(threadId)
    }
  }

  /** The thread must be resumed before its next use (archived, unsubscribed, unknown to the process). */
  forget(threadId: string): void {
    this.loaded.delete(threadId)
    this.turnApprovals.delete(threadId)
    this.owners.delete(threadId)
    this.rollouts.delete(threadId)
  }

  /** The rollout file of a loaded thread, as codex named it when it opened the thread (escalated-calls.ts). */
  rolloutOf(threadId: string): string | undefined {
    return this.rollouts.get(threadId)
  }

  /** Why the process of `generation` ended, if it did. */
  exitOf(generation: number): RpcClosedError | undefined {
    return this.exits.get(generation)
  }

  /**
   * `rawEvents`: codex sends the thread's response items (`rawResponseItem/completed`), the model's calls among
   * them (escalated-calls.ts); thread/start's option alone (experimental API).
   */
  async startThread(settings: ThreadSettings, options: { rawEvents?: boolean } = {}): Promise<OpenedThread> {
    const owner = randomUUID()
    const { result, generation } = await this.process.send('thread/start', {
      ...threadParams(settings),
      config: ownerConfig(owner),
      ...(options.rawEvents ? { experimentalRawEvents: true } : {}),
    })
    const opened = parseThread('thread/start', result)
    this.opened(opened.threadId, generation)
    this.owners.set(opened.threadId, owner)
    if (opened.rollout) this.rollouts.set(opened.threadId, opened.rollout)
    return opened
  }

  async forkThread(threadId: string, settings: ThreadSettings): Promise<OpenedThread> {
    const owner = randomUUID()
    const { result, generation } = await this.process.send('thread/fork', {
      ...threadParams(settings),
      config: ownerConfig(owner),
      threadId,
      excludeTurns: true,
    })
    const opened = parseThread('thread/fork', result)
    this.opened(opened.threadId, generation)
    this.owners.set(opened.threadId, owner)
    if (opened.rollout) this.rollouts.set(opened.threadId, opened.rollout)
    return opened
  }

  /**
   * The thread's last turn with its items (`thread/turns/list`, one turn): for a fork, where codex cut its parent's
   * thread (fork-point.ts). Asked apart from `thread/fork`, which returns no history (`excludeTurns`): that grows
   * with the thread, its last turn does not. Undefined when codex gives none (or fails to).
   */
  lastTurn(threadId: string): Promise<ForkedHead | undefined> {
    return this.request('thread/turns/list', {
      threadId,
      limit: 1,
      sortDirection: 'desc',
      itemsView: 'full',
    }).then(
      (listed) => lastTurnOf(listed),
      () => undefined,
    )
  }

  /** `thread/resume` into the running process (starting one if needed). */
  async resumeThread(threadId: string, settings: ThreadSettings): Promise<OpenedThread> {
    // its id is known here: it is the owner value of its commands
    const params = { ...threadParams(settings), config: ownerConfig(threadId), threadId, excludeTurns: true }
    // A thread just let go of is unloaded at once (thread_unload_delay_secs=0); while it closes, codex asks
    // to retry the resume after it closed.
    let sent: { result: unknown; generation: number } | undefined
    for (let attempt = 1; !sent; attempt++) {
      try {
        sent = await this.process.send('thread/resume', params)
      } catch (err) {
        if (attempt >= closingRetries || !/is closing; retry/i.test((err as Error).message)) throw err
        await new Promise((resolve) => setTimeout(resolve, closingRetryMs))
      }
    }
    const { result, generation } = sent
    const opened = parseThread('thread/resume', result)
    this.opened(threadId, generation)
    this.owners.set(threadId, threadId)
    if (opened.rollout) this.rollouts.set(threadId, opened.rollout)
    return opened
  }

  private opened(threadId: string, generation: number): void {
    this.loaded.set(threadId, generation)
    this.turnApprovals.delete(threadId)
  }

  /**
   * Whether the loaded thread runs its turns with `policy` already: a turn/start of the thread gave codex that
   * policy in the process that still has it loaded (codex keeps a turn's policy for the next turns).
   */
  holdsTurnApproval(threadId: string, policy: AskForApproval): boolean {
    const given = this.turnApprovals.get(threadId)
    return (
      given !== undefined &&
      this.isLoaded(threadId) &&
      given.generation === this.loaded.get(threadId) &&
      given.policy === JSON.stringify(policy)
    )
  }

  /** codex answered a turn/start of the thread that gave it `policy` (in the process of `generation`). */
  gaveTurnApproval(threadId: string, policy: AskForApproval, generation: number): void {
    if (this.loaded.get(threadId) === generation)
      this.turnApprovals.set(threadId, { policy: JSON.stringify(policy), generation })
  }

  /** Resumes the thread unless the running process has it loaded already. */
  async ensureLoaded(threadId: string, settings: ThreadSettings): Promise<void> {
    if (!this.isLoaded(threadId)) await this.resumeThread(threadId, settings)
  }

  /**
   * Ends the commands codex keeps running for the thread in the background (unified exec terminals outlive an
   * interrupted turn). Experimental in codex 0.169, hence not in the generated method list.
   */
  async cleanBackgroundTerminals(threadId: string, timeoutMs?: number): Promise<void> {
    const method = 'thread/backgroundTerminals/clean' as ClientMethod
    await this.process.request(method, { threadId } as ParamsOf<ClientMethod>, timeoutMs)
  }

  send<M extends ClientMethod>(method: M, params: ParamsOf<M>) {
    return this.process.send(method, params)
  }

  /** `timeoutMs` bounds this request (default: CODEX_REQUEST_TIMEOUT). */
  request<M extends ClientMethod>(method: M, params: ParamsOf<M>, timeoutMs?: number) {
    return this.process.request(method, params, timeoutMs)
  }

  close(): Promise<void> {
    return this.process.close()
  }

  private route(method: string, params: unknown): void {
    const threadId = threadIdOf(params)
    // account, config and other process-wide notifications belong to no session
    if (threadId === undefined) return
    // codex unloaded the thread (`thread/status/changed`, which also says so, is opted out of)
    if (method === 'thread/closed' || method === 'thread/archived') {
      this.forget(threadId)
      this.closing.get(threadId)?.()
    }
    this.listeners.get(threadId)?.notification(method, params)
  }

  private answer(method: string, params: unknown, id: RequestId): Promise<unknown> | unknown {
    const threadId = threadIdOf(params) ?? conversationRef.safeParse(params).data?.conversationId
    const listener = threadId === undefined ? undefined : this.listeners.get(threadId)
    if (listener) return listener.request(method, params, id)
    // a thread no open session holds: nobody can approve, so stop what asks
    const approval = approvalMethods.has(method) ? parseApproval(method, params) : null
    if (approval) return approval.answer('cancel')
    throw new Error(`agent-gateway does not answer ${method} here`)
  }

  private exited(error: RpcClosedError, generation: number): void {
    this.exits.set(generation, error)
    for (const old of this.exits.keys()) if (old < generation - 16) this.exits.delete(old)
    for (const listener of [...this.listeners.values()]) listener.exit(error, generation)
  }
}

/**
 * The thread's config override that hands `ownerVariable=owner` to every command codex runs for it (codex
 * 0.169 applies thread/start, resume and fork `config` like `-c`; the dotted key sets this one entry of
 * `shell_environment_policy.set` and leaves the rest of the policy, its `exclude` included, as it is).
 */
function ownerConfig(owner: string): { [key: string]: string } {
  return { [`shell_environment_policy.set.${ownerVariable}`]: owner }
}

/** The turn a `thread/turns/list` page (newest first) names first, as a ForkedHead; undefined when none. */
function lastTurnOf(listed: unknown): ForkedHead | undefined {
  const turn = turnsListResponse.safeParse(listed).data?.data[0]
  if (!turn) return undefined
  return {
    turnId: turn.id,
    ended: turn.completedAt != null,
    items: turn.items.filter((item) => item.status !== 'inProgress').map((item) => item.id),
  }
}

function parseThread(method: string, result: unknown): OpenedThread {
  const parsed = threadResponse.safeParse(result)
  if (!parsed.success) throw new Error(`codex app-server answered ${method} without a thread id`)
  const { thread, model, approvalPolicy } = parsed.data
  return {
    threadId: thread.id,
    model,
    ...(approvalPolicy ? { approvalPolicy } : {}),
    ...(thread.path ? { rollout: thread.path } : {}),
  }
}
