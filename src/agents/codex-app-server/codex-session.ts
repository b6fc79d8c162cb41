import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { z } from 'zod'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import type { AgentApprovalPolicy } from '../../protocol/policies.js'
import { relayTurn } from '../relayed-turn.js'
import type {
  AgentSession,
  ApprovalAsk,
  ForkedHead,
  SessionHooks,
  SteerReceipt,
  TurnInput,
  TurnOptions,
} from '../session.js'
import type { AppServerHost, ThreadListener } from './app-server-host.js'
import { parseApproval } from './approvals.js'
import { EscalatedCalls, rawResponseItemMethod, unseenCallWarning } from './escalated-calls.js'
import type { JsonValue } from './generated/serde_json/JsonValue.js'
import type { AskForApproval } from './generated/v2/AskForApproval.js'
import { heldApproval } from './held-sandbox.js'
import type { HostLease } from './host-lease.js'
import { RpcClosedError, RpcResponseError, RpcTimeoutError } from './rpc-errors.js'
import type { RequestId } from './rpc-message.js'
import { askForApproval, retriesUnsandboxed, type ThreadSettings, userInput } from './thread-settings.js'
import { TurnRun } from './turn-run.js'
import { safeRead } from './wire-read.js'
import { serverRequestResolved, turnStartResponse } from './wire-schemas.js'

const noTurnRuns = 'no turn is running in this session'
/** The `item/started` of a `userMessage` that carries a client's id (a steer's clientUserMessageId). */
const userMessageStarted = z.object({
  item: z.object({ type: z.literal('userMessage'), clientId: z.string().nullish() }),
})
/** Resolves with false once the turn ended. */
const turnEnd = (run: TurnRun): Promise<false> =>
  run.isFinished
    ? Promise.resolve(false)
    : new Promise((resolve) => run.signal.addEventListener('abort', () => resolve(false), { once: true }))
/** How long an interrupted turn may take to report its end before the gateway ends it. */
export const interruptGraceMs = 10_000
/** How long `close()` waits for codex to confirm the interrupt of a running turn. */
const closeGraceMs = 2000
/** How long cleaning an interrupted turn's background commands may take. */
const cleanTerminalsTimeoutMs = 5000

/**
 * One codex thread as an AgentSession. Turns run one at a time: `turn()` sends `turn/start` and yields the
 * turn's mapped notifications until its turn/completed; approval requests go to `hooks.requestApproval` and
 * its decision goes back to codex. When the app-server dies, the running turn fails at once; the next turn
 * resumes the thread in the new process first (via the host).
 */
export class CodexSession implements AgentSession, ThreadListener {
  private active: TurnRun | undefined
  private closed = false
  private readonly pendingApprovals = new Map<RequestId, AbortController>()
  /** The model's command calls that asked to run outside the sandbox (escalated-calls.ts). */
  private readonly calls = new EscalatedCalls()
  /** Steers whose answer is awaited by their clientUserMessageId: called once codex's message for it started. */
  private readonly steersSeen = new Map<string, () => void>()
  /** The thread's own approval policy: the session's, else the one codex opened the thread with. */
  private readonly ownApproval: AskForApproval | undefined
  /** Whether a turn of this session named an approval policy of its own (codex keeps it for the next turns). */
  private approvalOverridden = false
  /** A fork's: where codex cut its parent's thread (AgentSession.forkedHead). */
  forkedHead: (() => Promise<ForkedHead | undefined>) | undefined
  /** The thread is being let go of to be resumed with a profile (profiledFor): its `thread/closed` is no news. */
  private reopening = false
  /** What the thread is opened with; its profile once a turn ran `untrusted` (profiledFor). */
  settings: ThreadSettings
  /** The thread's id: a new thread's once the first turn, `untrusted`, needed one (profiledFor). */
  agentSessionId: string

  constructor(
    private readonly host: AppServerHost,
    agentSessionId: string,
    settings: ThreadSettings,
    public hooks: SessionHooks,
    /** The session's own app-server (in its container), released on close; absent: the shared one. */
    private readonly lease?: HostLease,
    /** The approval policy codex reported when it opened the thread. */
    openedApproval?: AskForApproval,
  ) {
    this.agentSessionId = agentSessionId
    this.settings = settings
    this.ownApproval = settings.approvalPolicy
      ? askForApproval(settings.approvalPolicy)
      : (settings.ownApproval ?? openedApproval)
    lease?.acquire()
    host.listen(agentSessionId, this)
  }

  /** The directory its container mounts for the turns' images (AgentSession.imageDir); absent: none. */
  get imageDir(): string | undefined {
    return this.lease?.imageDir
  }

  /** Where codex's container sees imageDir (its mount's target). */
  get imageDirSeenAt(): string | undefined {
    return this.lease?.images?.target
  }

  /** What the session keeps of the thread's own policy (SessionRequest.agentApprovalPolicy gives it back). */
  get agentApprovalPolicy(): AgentApprovalPolicy | undefined {
    return this.ownApproval
  }

  get isOpen(): boolean {
    return !this.closed
  }

  async *turn(input: TurnInput, signal: AbortSignal, options: TurnOptions = {}): AsyncGenerator<AgentEvent> {
    const run = new TurnRun(
      {
        end: () => {
          if (this.active === run) this.active = undefined
        },
        agentStarted: () => {
          if (run.interruptRequested) void this.interruptRun(run)
        },
      },
      this.host.process.held,
    )
    let turnEnded: ((sweep: boolean) => Promise<void>) | undefined
    if (this.closed) run.fail('the session is closed')
    else if (this.active) run.fail('a turn is already running in this session')
    else {
      this.active = run
      turnEnded = this.host.turnBegan(
        () => this.agentSessionId,
        this.settings.cwd,
        () => this.settings.permissions !== undefined,
      )
      void this.startTurn(run, input, signal, options)
    }
    yield* relayTurn(run, signal, {
      stop: () => void this.interruptRun(run),
      ended: async (sweep) => {
        if (run.interruptRequested) await this.cleanTerminals()
        // Commands that left the app-server's tree end with the turn: its end is told once they are gone.
        await turnEnded?.(sweep)
      },
    })
  }

  /**
   * Ends the commands an interrupted turn left running: codex's interrupt stops the turn, but a command it
   * already moved to a background terminal (unified exec) runs on. Done before the turn's generator returns,
   * so a session is idle again only once nothing of the interrupted turn runs.
   */
  private async cleanTerminals(): Promise<void> {
    if (!this.host.isLoaded(this.agentSessionId)) return
    await this.host.cleanBackgroundTerminals(this.agentSessionId, cleanTerminalsTimeoutMs).catch(() => {
      // an older codex without the method, or the process went away: nothing left to clean then
    })
  }

  /**
   * Adds `input` to the running turn (`turn/steer`). Its `clientUserMessageId` comes back as the `clientId` of the
   * `userMessage` item codex makes of it once it puts it into the conversation (at its next model request, not when
   * it answers): a steer whose answer did not come in time (RpcTimeoutError) may still have reached codex, and is
   * taken as sent when that item shows in the turn before the turn ends; otherwise its error stands (the gateway
   * withdraws the steer from the history: turn.steer_failed). Before, such a steer was withdrawn at once, though
   * codex may have applied it. A steer codex accepted is answered with a receipt whose `taken` says whether that
   * item showed before the turn ended: codex 0.171 answers a steer and then drops it when the turn is interrupted
   * before its next model request (test/integration/codex-session-driver.test.ts).
   */
  async steer(input: TurnInput, sending?: () => Promise<void>): Promise<SteerReceipt> {
    const run = this.active
    const turnId = run?.turnId
    if (!run || !turnId) throw new AppError('conflict', noTurnRuns)
    await sending?.()
    const clientUserMessageId = `agw-steer-${randomUUID()}`
    let seen = false
    const shown = new Promise<true>((resolve) =>
      this.steersSeen.set(clientUserMessageId, () => {
        seen = true
        resolve(true)
      }),
    )
    // true once codex's message for it showed; at the turn's end, whether it had
    const taken = Promise.race([shown, turnEnd(run).then(() => seen)])
    try {
      await this.host.request('turn/steer', {
        threadId: this.agentSessionId,
        input: userInput(input),
        expectedTurnId: turnId,
        clientUserMessageId,
      })
    } catch (err) {
      // no answer in time: codex took it if its message shows in the turn before the turn's end
      const late = err instanceof RpcTimeoutError && (await taken)
      this.steersSeen.delete(clientUserMessageId)
      if (late) return { taken }
      // the turn ended in codex while the steer was on its way: no turn runs (409), the request was valid
      const ended = /no active turn/i.test((err as Error).message) || this.active?.turnId !== turnId
      if (err instanceof AppError && err.code === 'invalid_request' && ended)
        throw new AppError('conflict', noTurnRuns)
      throw err
    }
    void taken.finally(() => this.steersSeen.delete(clientUserMessageId))
    return { taken }
  }

  async interrupt(): Promise<void> {
    if (this.active) await this.interruptRun(this.active)
  }

  async fork(): Promise<AgentSession> {
    const opened = await this.host.forkThread(this.agentSessionId, this.settings)
    const model = this.settings.model ?? opened.model
    // a fork of a session in a container lives in the same container
    const forked = new CodexSession(
      this.host,
      opened.threadId,
      { ...this.settings, ...(model ? { model } : {}) },
      this.hooks,
      this.lease,
      this.ownApproval ?? opened.approvalPolicy,
    )
    // the fork may carry a turn's policy over from this thread: its next turn names the own one again
    forked.approvalOverridden = this.approvalOverridden
    forked.forkedHead = () => this.host.lastTurn(opened.threadId)
    return forked
  }

  read(includeTurns: boolean): Promise<unknown> {
    return this.host.request('thread/read', { threadId: this.agentSessionId, includeTurns })
  }

  async archive(): Promise<void> {
    await this.host.request('thread/archive', { threadId: this.agentSessionId })
    this.host.forget(this.agentSessionId)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const run = this.active
    if (run && !run.isFinished) {
      await this.interruptRun(run)
      await run.settled(closeGraceMs)
      run.fail('the session was closed')
    }
    this.host.unlisten(this.agentSessionId, this)
    await this.host.letGo(this.agentSessionId, closeGraceMs)
    // what the thread's shell snapshot left (its login profile's background jobs) ends with the thread
    await this.host.threadEnded(this.settings.cwd)
    await this.lease?.release()
  }

  notification(method: string, params: unknown): void {
    if (method === 'thread/closed' && this.reopening) return
    // the model's calls, kept to tell its unsandboxed runs apart; not the turn's events (one per response item)
    if (method === rawResponseItemMethod) {
      this.calls.saw(params)
      return
    }
    // a steer's message in the conversation (its clientId: the steer's clientUserMessageId)
    if (method === 'item/started' && this.steersSeen.size > 0) {
      const clientId = safeRead(userMessageStarted, params)
      if (clientId?.success && clientId.data.item.clientId)
        this.steersSeen.get(clientId.data.item.clientId)?.()
    }
    if (method === 'serverRequest/resolved') {
      // codex settled a request itself (e.g. the turn ended): stop waiting for an answer nobody needs
      const resolved = serverRequestResolved.safeParse(params)
      if (resolved.success) this.pendingApprovals.get(resolved.data.requestId)?.abort()
    }
    // outside a turn there is no stream to put a notification in
    this.active?.notify(method, params)
  }

  async request(method: string, params: unknown, id: RequestId): Promise<unknown> {
    const run = this.active
    const approval = parseApproval(method, params, (itemId) => run?.mapper.item(itemId))
    if (!approval) {
      run?.notify(method, { request: params })
      throw new Error(`agent-gateway does not answer ${method}`)
    }
    // asked for a codex turn that is over (an interrupted one's late request) while the next one runs: that
    // turn's approval must not be shown as the running turn's, and nobody can answer it for its own
    const current = run?.turnId
    if (current !== undefined && approval.ask.turnId !== undefined && approval.ask.turnId !== current)
      return approval.answer('cancel')
    const ask = await this.unsandboxedRun(approval.ask, run)
    if (ask === undefined) return approval.answer('decline')
    const controller = new AbortController()
    this.pendingApprovals.set(id, controller)
    const signal = run ? AbortSignal.any([controller.signal, run.signal]) : controller.signal
    try {
      return approval.answer(await this.hooks.requestApproval(ask, signal))
    } catch {
      return approval.answer('cancel')
    } finally {
      this.pendingApprovals.delete(id)
    }
  }

  /**
   * A command approval as the client is asked it, unless escalation is allowed (held-sandbox.ts): undefined (the
   * gateway declines it, and tells the client with an error item) when the model asked to run the command outside
   * the sandbox, which codex asks under `untrusted` with the same request as a sandboxed command; with a warning in
   * its reason when the gateway could not see the model's call, neither as a raw item nor in the thread's rollout
   * (escalated-calls.ts).
   */
  private async unsandboxedRun(ask: ApprovalAsk, run: TurnRun | undefined): Promise<ApprovalAsk | undefined> {
    if (ask.kind !== 'command' || this.settings.escalationAllowed === true) return ask
    const call = await this.calls.find(ask.itemId, this.host.rolloutOf(this.agentSessionId))
    if (call === 'sandboxed') return ask
    if (call === 'unknown')
      return { ...ask, reason: [unseenCallWarning, ask.reason].filter(Boolean).join(' ') }
    run?.report({
      id: `escalation_refused_${ask.itemId}`,
      type: 'error',
      message: `the model asked to run \`${ask.command ?? 'a command'}\` outside the sandbox: declined by agent-gateway (the session's sandbox is ${this.settings.sandbox} and ALLOW_DANGER_FULL_ACCESS is off)`,
    })
    return undefined
  }

  exit(error: RpcClosedError, generation: number): void {
    const run = this.active
    if (run && run.generation === generation)
      run.fail(`codex app-server died during the turn: ${error.message}`)
  }

  /**
   * The approval policy `turn/start` names for a turn: the turn's own; else, once an earlier turn named one
   * (codex keeps a turn's policy for the turns after it), the thread's own again; else none (codex runs the
   * thread's). Throws when the thread's own policy is unknown and an earlier turn's would stay in force.
   */
  private turnApproval(options: TurnOptions): AskForApproval | undefined {
    if (options.approvalPolicy) {
      this.approvalOverridden = true
      return askForApproval(options.approvalPolicy)
    }
    if (!this.approvalOverridden) return undefined
    if (this.ownApproval === undefined)
      throw new Error(
        "codex did not say the thread's own approval policy: this turn would run with an earlier turn's",
      )
    return this.ownApproval
  }

  /** The policy codex runs the turn with: the turn's own, else the thread's (turnApproval names it again). */
  private turnPolicy(options: TurnOptions): AskForApproval | undefined {
    return options.approvalPolicy ? askForApproval(options.approvalPolicy) : this.ownApproval
  }

  /**
   * Before a turn that runs `untrusted` on a thread without a profile (a session of another policy whose turn
   * names `untrusted`, or a thread whose own policy codex reported as `untrusted`): the thread is let go of and
   * resumed with the profile with a denied read (ThreadSettings.untrustedPermissions), which it keeps for its later
   * turns and its forks, so that codex retries no accepted command its sandbox denied without the sandbox.
   * `turn/start` takes a sandbox policy but no profile, and the thread is unloaded first (`thread/unsubscribe`:
   * codex unloads it at once, thread_unload_delay_secs=0; awaited until its `thread/closed`) so that
   * `thread/resume` opens it with its new settings, as after an idle unload. A thread that ran no turn yet has no
   * rollout, which codex (0.171) resumes neither unloaded nor loaded ("no rollout found"): it is replaced
   * (startedAnew).
   */
  private async profiledFor(policy: AskForApproval | undefined): Promise<void> {
    const profile = this.settings.untrustedPermissions
    if (profile === undefined || !retriesUnsandboxed(policy)) return
    const { untrustedPermissions: _, ...rest } = this.settings
    this.settings = { ...rest, permissions: profile }
    // codex writes a thread to disk at its first turn: before that, it resumes it neither unloaded nor loaded
    const rollout = this.host.rolloutOf(this.agentSessionId)
    if (this.host.isLoaded(this.agentSessionId) && rollout !== undefined && !existsSync(rollout))
      return this.startedAnew()
    this.reopening = true
    try {
      await this.host.unload(this.agentSessionId, closeGraceMs)
    } finally {
      this.reopening = false
    }
  }

  /**
   * A new thread with the settings, in place of one that ran no turn (nothing of it is lost): the session goes on
   * in it, and the core stores its id after the turn (live-sessions.ts storeAgentSessionId), as for an ACP session
   * reopened anew. The old one is let go of.
   */
  private async startedAnew(): Promise<void> {
    const own = this.settings.approvalPolicy ? {} : this.ownApproval ? { ownApproval: this.ownApproval } : {}
    const settings = { ...this.settings, ...own }
    const opened = await this.host.startThread(settings, { rawEvents: settings.escalationAllowed !== true })
    const old = this.agentSessionId
    this.host.unlisten(old, this)
    this.agentSessionId = opened.threadId
    this.host.listen(opened.threadId, this)
    await this.host.letGo(old, closeGraceMs)
  }

  /**
   * turnApproval as codex is given it (held-sandbox.ts): without the model's unsandboxed runs unless the session
   * allows them; a thread codex opened with its own policy that asks for them is held from its first turn on.
   */
  private wireApproval(options: TurnOptions): AskForApproval | undefined {
    const allowed = this.settings.escalationAllowed === true
    const asked = this.turnApproval(options)
    if (asked !== undefined) return heldApproval(asked, allowed)
    const own = this.ownApproval
    const held = own === undefined ? undefined : heldApproval(own, allowed)
    return held !== own ? held : undefined
  }

  private async startTurn(
    run: TurnRun,
    input: TurnInput,
    signal: AbortSignal,
    options: TurnOptions,
  ): Promise<void> {
    this.calls.clear()
    try {
      await this.profiledFor(this.turnPolicy(options))
      const threadId = this.agentSessionId
      const approvalPolicy = this.wireApproval(options)
      for (let attempt = 1; ; attempt++) {
        if (signal.aborted) return run.interrupted()
        await this.host.ensureLoaded(threadId, this.settings)
        if (run.isFinished) return
        if (signal.aborted) return run.interrupted()
        // codex keeps a turn's policy for the thread's next turns: one it holds already is not sent again
        const givesApproval =
          approvalPolicy !== undefined && !this.host.holdsTurnApproval(threadId, approvalPolicy)
        let sent: { result: unknown; generation: number }
        try {
          sent = await this.host.send('turn/start', {
            threadId,
            input: userInput(input),
            ...(givesApproval ? { approvalPolicy } : {}),
            // this turn's alone: codex holds its final message to it and does not keep it for the next turn
            ...(options.outputSchema ? { outputSchema: options.outputSchema as JsonValue } : {}),
          })
        } catch (err) {
          // the process lost the thread (restarted between resume and start, or unloaded it): once more
          const rpc = err instanceof Error && err.cause instanceof RpcResponseError ? err.cause : err
          if (attempt === 1 && rpc instanceof RpcResponseError && /thread not found/i.test(rpc.rpcMessage)) {
            this.host.forget(threadId)
            continue
          }
          throw err
        }
        const started = safeRead(turnStartResponse, sent.result)
        if (!started.success) return run.fail('codex app-server answered turn/start without a turn id')
        if (givesApproval) this.host.gaveTurnApproval(threadId, approvalPolicy, sent.generation)
        run.generation = sent.generation
        const died = this.host.exitOf(sent.generation)
        if (died) return run.fail(`codex app-server died during the turn: ${died.message}`)
        run.begin(started.data.turn.id)
        if (run.interruptRequested || signal.aborted) await this.interruptRun(run)
        return
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      const when = run.turnId ? 'during the turn' : 'before the turn started'
      run.fail(err instanceof RpcClosedError ? `codex app-server died ${when}: ${message}` : message)
    }
  }

  /**
   * Asks codex to stop the turn; the turn ends when codex confirms (turn/completed, status interrupted), or
   * fails after `interruptGraceMs`. Sent once codex reported the turn started (see TurnRun.agentStarted).
   */
  private async interruptRun(run: TurnRun): Promise<void> {
    if (run.isFinished) return
    run.interruptRequested = true
    const turnId = run.turnId
    // no id yet: startTurn comes back here as soon as codex names the turn
    if (!turnId) return
    run.deadline(
      interruptGraceMs,
      `codex app-server did not confirm the interrupt within ${interruptGraceMs / 1000} s`,
    )
    if (!run.agentStarted) return
    // the process that runs the turn is gone: its exit ends the turn (and no new process is started for this)
    const current = this.host.process.generation
    if (current === undefined || (run.generation !== undefined && run.generation !== current)) return
    await this.host.request('turn/interrupt', { threadId: this.agentSessionId, turnId }).catch(() => {
      // the turn may have ended meanwhile; its end (or the deadline) settles it
    })
  }
}
