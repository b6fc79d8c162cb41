import { randomUUID } from 'node:crypto'
import type {
  ContentBlock,
  InitializeResponse,
  PromptResponse,
  RequestPermissionRequest,
  RequestPermissionResponse,
} from '@agentclientprotocol/sdk'
import { AppError } from '../../protocol/errors.js'
import type { AgentEvent } from '../../protocol/events.js'
import type { SandboxMode } from '../../protocol/policies.js'
import { settledWithin } from '../../util/settled-within.js'
import { relayTurn } from '../relayed-turn.js'
import type { AgentSession, ApprovalDecision, SessionHooks, TurnInput, TurnOptions } from '../session.js'
import type { AcpLease } from './acp-pool.js'
import type { AcpPeer, AcpProcess } from './acp-process.js'
import { AcpTurn } from './acp-turn.js'
import { FsAccess } from './fs-access.js'
import { permissionAnswer, permissionAsk } from './permission.js'
import { promptBlocks, textBlocks } from './prompt-blocks.js'
import { mergeToolCall } from './tool-items.js'
import { toolCallFields } from './wire.js'
import { approvedWrites } from './write-grants.js'

/** How long a cancelled turn may take to answer its prompt before the gateway fails it. */
export const cancelGraceMs = 10_000
/** How long `close()` waits for a running turn to confirm the cancel. */
const closeGraceMs = 2000
/** How many tool call ids of ended turns a session remembers (their late updates are not this turn's items). */
const rememberedToolCalls = 4096

/**
 * One ACP session on an agent process it may share with other sessions (see AcpPool). `turn()` is
 * `session/prompt`: the session's updates stream in as mapped events until the prompt's answer
 * (stopReason) ends the turn. Permission requests go to `hooks.requestApproval`; `interrupt()` is
 * `session/cancel`; file access stays inside `cwd`, and writes are the sandbox's to allow (write-grants.ts: what
 * the client approved in a read-only session). `close()` gives the process back (it ends with its last session).
 */
export class AcpSession implements AgentSession, AcpPeer {
  readonly fs: FsAccess
  readonly init: InitializeResponse
  private readonly agent: AcpProcess
  private active: AcpTurn | undefined
  private closed = false
  /** Tool calls of this session's ended turns, oldest first. */
  private readonly endedToolCalls = new Set<string>()
  /** Settles when the agent answered (or failed) this session's last `session/prompt`; unset once it did. */
  private promptPending: Promise<void> | undefined
  /** When `session/cancel` was first sent for that prompt (performance.now()). */
  private cancelSentAt: number | undefined
  /** What the next turn says first, after its turn.started (a `context_lost` notice: open-session.ts). */
  private notices: AgentEvent[] = []
  /** The turn that failed with its prompt never sent (its connection was closed already: unsent). */
  private unsentTurn: string | undefined
  /** How many writes the sandbox refused in this session (the ids of their error items). */
  private refusedWrites = 0

  constructor(
    private readonly lease: AcpLease,
    readonly agentSessionId: string,
    private readonly cwd: string,
    sandbox: SandboxMode,
    public hooks: SessionHooks,
    private readonly agentName: string,
  ) {
    this.agent = lease.agent
    this.init = lease.init
    this.fs = new FsAccess(cwd, sandbox)
    this.fs.onRefused = (message) => this.writeRefused(message)
    this.agent.attach(agentSessionId, this)
    const agent = this.agent
    void agent.done.then((outcome) => this.active?.fail(agent.exitMessage(outcome)))
  }

  get pid(): number | undefined {
    return this.agent.pid
  }

  /** The sandbox its file writes are allowed by (a session opened ahead for a run takes the run's). */
  get sandbox(): SandboxMode {
    return this.fs.grants.sandbox
  }

  set sandbox(sandbox: SandboxMode) {
    this.fs.grants.sandbox = sandbox
  }

  /** `turnId`: the turn's id (a turn sent again on a reopened session keeps its own: reopening-session.ts). */
  async *turn(
    input: TurnInput,
    signal: AbortSignal,
    { turnId = randomUUID() }: TurnOptions & { turnId?: string } = {},
  ): AsyncGenerator<AgentEvent> {
    const run = new AcpTurn(this.agentName, turnId, (id) => this.endedToolCalls.has(id), this.agent.held)
    run.push([{ type: 'turn.started', turnId: run.turnId }])
    let turnEnded: ((sweep: boolean) => Promise<void>) | undefined
    if (this.closed) run.fail('the session is closed')
    else if (this.active) run.fail('a turn is already running in this session')
    else {
      run.push(this.notices.splice(0))
      turnEnded = this.agent.turnBegan(this.cwd)
      this.start(run, input)
    }
    // Commands that left the agent's process tree end with the turn (the agent process may serve others long
    // after).
    yield* relayTurn(run, signal, { stop: () => void this.cancel(run), ended: (sweep) => turnEnded?.(sweep) })
  }

  /** `event` is said by the next turn, before anything the agent says. */
  noticeOnNextTurn(event: AgentEvent): void {
    this.notices.push(event)
  }

  async steer(): Promise<void> {
    throw new AppError('conflict', 'ACP agents take no input while a turn runs; queue the turn instead')
  }

  async interrupt(): Promise<void> {
    if (this.active) await this.cancel(this.active)
  }

  async fork(): Promise<AgentSession> {
    throw new AppError('invalid_request', `${this.agentName} cannot fork sessions`)
  }

  async read(): Promise<unknown> {
    return { sessionId: this.agentSessionId, agentInfo: this.init.agentInfo ?? null }
  }

  /** ACP has no archive: the session is closed (the agent keeps its history). */
  archive(): Promise<void> {
    return this.close()
  }

  /**
   * Whether the turn `turnId` failed without its prompt sent: the connection was closed already (the agent's output
   * had ended: its process died, its exit not known yet, so the session still looked usable). A turn whose prompt
   * was written is not, whatever came of it (the agent may have got it and acted on it).
   */
  unsent(turnId: string): boolean {
    return this.unsentTurn === turnId
  }

  /** Whether a turn can still start here: not closed, and its agent process still runs. */
  get usable(): boolean {
    return !this.closed && !this.agent.exited
  }

  /** `endIdleProcess`: a warm process this session was the last on ends now rather than waiting for a run. */
  async close(endIdleProcess = false): Promise<void> {
    if (this.closed) return
    this.closed = true
    const run = this.active
    if (run && !run.isFinished) {
      await this.cancel(run)
      await settledWithin(run.settled, this.cancelGraceLeft())
      run.fail('the session was closed')
    }
    // The answer to the session's last prompt is what its cancel asks for (the turn may have ended without it,
    // abandoned or past its deadline): none within the grace since the cancel, the agent ignored it.
    const pending = this.promptPending
    if (pending && this.cancelSentAt === undefined) await this.cancelPrompt()
    const ignoredCancel =
      pending !== undefined &&
      (await settledWithin(
        pending.then(() => true),
        this.cancelGraceLeft(),
      )) === undefined
    this.agent.detach(this.agentSessionId, this)
    // An agent that ignored the cancel may still be at work for this session: its process, which other
    // sessions may share, takes no new session and ends with the last of those it serves.
    await this.lease.release(this.agentSessionId, { now: endIdleProcess, retire: ignoredCancel })
  }

  update(sessionId: string, update: unknown): void {
    // outside a turn (e.g. the history session/load replays) there is no stream to put it in
    if (sessionId === this.agentSessionId) this.active?.push(this.active.mapper.map(update))
  }

  /** A write the sandbox refused: the agent got a JSON-RPC error, the client sees an error item in the turn. */
  private writeRefused(message: string): void {
    const run = this.active
    if (!run || run.isFinished) return
    const item = { id: `write_refused_${++this.refusedWrites}`, type: 'error' as const, message }
    run.push([{ type: 'item.completed', item }])
  }

  async permission(
    params: RequestPermissionRequest,
    signal: AbortSignal,
  ): Promise<RequestPermissionResponse> {
    const run = this.active
    const fields = toolCallFields.safeParse(params.toolCall)
    if (!fields.success || params.sessionId !== this.agentSessionId)
      return permissionAnswer('cancel', params.options)
    if (run) run.push(run.mapper.toolCallAsked(fields.data))
    const tool = run?.mapper.toolCall(fields.data.toolCallId) ?? mergeToolCall(undefined, fields.data)
    const ask = permissionAsk(tool, params.options, this.cwd, run?.turnId)
    const ended = AbortSignal.any(run ? [signal, run.approvalSignal] : [signal])
    const decision = await decide(this.hooks, ask, ended)
    if (decision === 'decline' || decision === 'cancel') run?.mapper.declined(tool.id)
    // what an approved file change names may be written (fs/write_text_file) while this turn runs
    if (run && this.active === run && !run.isFinished)
      this.fs.grants.answered(ask.kind, decision, approvedWrites(tool))
    return permissionAnswer(decision, params.options)
  }

  private start(run: AcpTurn, input: TurnInput): void {
    this.active = run
    void run.settled.then(() => {
      this.fs.grants.turnEnded()
      if (this.active === run) this.active = undefined
      this.rememberToolCalls(run.mapper.toolCallIds())
    })
    let unsent = false
    const send = (prompt: ContentBlock[]): Promise<Pick<PromptResponse, 'stopReason'>> => {
      // interrupted while its images were read: nothing was sent, nothing is to cancel
      if (this.cancelSentAt !== undefined) return Promise.resolve({ stopReason: 'cancelled' })
      // closed when its output ended (the process died), which may be known before its exit is (usable)
      unsent = this.agent.connection.signal.aborted
      return this.agent.connection.agent.request('session/prompt', { sessionId: this.agentSessionId, prompt })
    }
    // text goes at once; images are read and encoded first (prompt-blocks.ts): a turn whose image cannot be sent
    // fails, nothing sent
    const text = textBlocks(input)
    const answered: Promise<void> = (
      text ? send(text) : promptBlocks(input, this.init, this.agentName).then(send)
    )
      .then(async (answer) => {
        this.promptAnswered(answered)
        // the last updates of its tool calls, while one is open (ACP_TOOL_SETTLE_MS): codex-acp may answer the
        // prompt before its tool's last update, seconds before on a loaded machine
        if (answer.stopReason !== 'cancelled') await run.toolsSettled(this.agent.launch.toolSettleMs)
        run.completed(answer.stopReason === 'cancelled' ? 'interrupted' : 'completed')
      })
      .catch(async (err: unknown) => {
        this.promptAnswered(answered)
        if (unsent) this.unsentTurn = run.turnId
        // a connection closed by the process's end: why it ended (killed, crashed), not "ACP connection closed"
        run.fail(errorMessage(await this.agent.failureOf(err)))
      })
    this.promptPending = answered
    this.cancelSentAt = undefined
  }

  private promptAnswered(answered: Promise<void>): void {
    if (this.promptPending !== answered) return
    this.promptPending = undefined
    this.cancelSentAt = undefined
  }

  /** What is left of `closeGraceMs` since the prompt's cancel was sent. */
  private cancelGraceLeft(): number {
    const since = this.cancelSentAt === undefined ? 0 : performance.now() - this.cancelSentAt
    return Math.max(0, closeGraceMs - since)
  }

  private rememberToolCalls(ids: string[]): void {
    for (const id of ids) this.endedToolCalls.add(id)
    for (const id of this.endedToolCalls) {
      if (this.endedToolCalls.size <= rememberedToolCalls) break
      this.endedToolCalls.delete(id)
    }
  }

  /** `session/cancel`: pending approvals are answered `cancelled`; the agent answers the prompt `cancelled`. */
  private async cancel(run: AcpTurn): Promise<void> {
    if (run.isFinished) return
    run.cancelApprovals()
    run.deadline(cancelGraceMs, `the agent did not confirm the cancel within ${cancelGraceMs / 1000} s`)
    await this.cancelPrompt()
  }

  private async cancelPrompt(): Promise<void> {
    if (this.promptPending) this.cancelSentAt ??= performance.now()
    await this.agent.connection.agent
      .notify('session/cancel', { sessionId: this.agentSessionId })
      .catch(() => {})
  }
}

/** The hook's decision; `cancel` when it fails or the request ends first (the hook may ignore `signal`). */
async function decide(
  hooks: SessionHooks,
  ask: Parameters<SessionHooks['requestApproval']>[0],
  signal: AbortSignal,
): Promise<ApprovalDecision> {
  if (signal.aborted) return 'cancel'
  const ended = new Promise<ApprovalDecision>((resolve) =>
    signal.addEventListener('abort', () => resolve('cancel'), { once: true }),
  )
  return Promise.race([hooks.requestApproval(ask, signal).catch(() => 'cancel' as const), ended])
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const data = (err as { data?: unknown }).data
    const detail = typeof data === 'string' ? data : data ? JSON.stringify(data) : ''
    return detail && !err.message.includes(detail) ? `${err.message}: ${detail}` : err.message
  }
  return String(err)
}
