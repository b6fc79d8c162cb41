import type { GatewayContext } from '../../core/context.js'
import type { TenantScope } from '../../core/tenancy/tenancy.js'
import { type TurnOptions, turnOptionsOf } from '../../core/turn-options.js'
import { steerWithdrawn } from '../../core/turn-queue.js'
import { AppError } from '../../protocol/errors.js'
import type { StoredEvent } from '../../protocol/events.js'
import type { Session } from '../../protocol/sessions.js'
import type { Principal } from '../auth.js'
import type { EventSink } from '../event-sink.js'
import { commandIdOf, StreamApprovals } from './agent-stream-approvals.js'
import {
  attachStream,
  findOrCreateSession,
  streamPolicyOn,
  streamTurnOptions,
} from './agent-stream-attach.js'
import { eventFrames } from './agent-stream-event-frames.js'
import {
  type ApproveFrame,
  frame,
  inputNotDelivered,
  parseClientFrame,
  type ServerFrame,
  type ServerFrameBody,
  type StreamApprovalPolicy,
  streamErrors,
  streamStatus,
  type UserMessageFrame,
} from './agent-stream-frames.js'

/** The connection's frames go to a transport-neutral sink (HTTP/2 or HTTP/1.1 body, WebSocket). */
export interface FrameSink extends EventSink<ServerFrame> {
  /**
   * Frames that go out together (one stored event's), in order, in as few transport writes as the transport
   * allows: on a byte stream one write, so a client has the last of them as soon as the first (on HTTP/2 a
   * second write waits for the first's flush, a loop turn later).
   */
  writeAll(frames: readonly ServerFrame[]): Promise<void>
}

/** Whether the connection keeps reading frames after one was handled. */
export type Next = 'continue' | 'end'

/**
 * One /agent/stream (or /agent/ws) connection: seed 004's frames on one side, a durable gateway session on
 * the other. The session is found (or created) by the client's `sessionId` (agent-stream-attach.ts); a turn
 * per `user_message`, which interrupts the running one; `cancel` interrupts it; the session's stored events
 * become `status`, `item`, `command_prompt` and `error` frames (agent-stream-event-frames.ts); approvals:
 * agent-stream-approvals.ts. Frames go out in order, one write at a time.
 */
export class AgentStreamConnection {
  private session: Session | undefined
  /** Leaves the session's followers (agent-stream-attach.ts): set while the stream is attached to it. */
  private detachFromSession: (() => number) | undefined
  private clientSessionId: string | undefined
  private policy: StreamApprovalPolicy = 'suggest'
  /**
   * Whether a frame of this stream named the policy: then every turn it starts runs with it (streamTurnOptions),
   * else with the session's own.
   */
  private policyChosen = false
  private cancelling = false
  private readonly approvals: StreamApprovals
  private readonly detach = new AbortController()
  private writing: Promise<void> = Promise.resolve()
  private pendingWrites = 0
  private closed = false
  private readonly heartbeat: NodeJS.Timeout
  /**
   * The last turn this stream started, until its end was forwarded: a client that ends its side gets that turn's
   * frames before `terminate`, as from the original, which read the next frame (and so the end) only once the run
   * of the one before was over. `over` also when the stream stops following its session (closed, archived).
   */
  private turnInFlight: { id: string; over: () => void; ended: Promise<void> } | undefined
  /** The last turns whose end this stream forwarded: one may end before its startTurn returned. */
  private readonly endedTurns = new Set<string>()
  private followEnded = false
  /** The client ended its side (clientEnding). */
  private clientEnd = false

  constructor(
    private readonly ctx: GatewayContext,
    private readonly sink: FrameSink,
    /** The caller's tenant scope: the sessions it may find, create and answer for. */
    private readonly scope: TenantScope,
    /** The caller's token: `approve` frames need its `approve` scope (the stream itself needs `run`). */
    private readonly principal: Principal,
  ) {
    this.heartbeat = setInterval(() => {
      // A client that does not read gets no pile of heartbeats.
      if (this.pendingWrites === 0)
        void this.send({ type: 'heartbeat', timestamp: new Date().toISOString() }).catch(() => {})
    }, ctx.config.AGENT_STREAM_HEARTBEAT_SECONDS * 1000)
    this.heartbeat.unref()
    this.approvals = new StreamApprovals(
      scope.approvals,
      (body) => this.send(body),
      (approvalId) => this.commandId(approvalId),
    )
  }

  /** Handles one decoded frame value. */
  async receive(value: unknown): Promise<Next> {
    const parsed = parseClientFrame(value)
    if (!parsed.success) {
      const type = (value as { type?: unknown } | null)?.type
      const why =
        typeof type === 'string' && !['user_message', 'approve', 'cancel'].includes(type)
          ? `unknown frame type "${type}"`
          : parsed.error.issues.map((i) => `${i.path.join('.') || 'frame'}: ${i.message}`).join('; ')
      return this.decodeError(why)
    }
    const f = parsed.data
    try {
      if (f.type === 'user_message') return await this.userMessage(f)
      if (!this.session) return this.fail(streamErrors.notInitialized)
      if (f.sessionId !== this.clientSessionId) return this.fail(streamErrors.mismatch(f.type))
      if (f.type === 'approve') {
        if (!this.principal.scopes.has('approve'))
          return this.fail(streamErrors.approveScope(this.principal.name))
        await this.approve(f)
      } else await this.cancel()
      return 'continue'
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      await this.send({ type: 'error', code: 'FRAME_PROCESSING_ERROR', message, retryable: false })
      return 'continue'
    }
  }

  /**
   * A frame that does not decode (or not in time: `details.limit`) ends the stream. One of the last frames, read
   * after the client ended its side (`clientEnding`), is followed by `terminate` in the same write: that end is
   * answered too.
   */
  async decodeError(why: string, details?: Record<string, unknown>): Promise<Next> {
    const error: ServerFrameBody = {
      type: 'error',
      code: 'FRAME_DECODING_ERROR',
      message: `Frame decoding error: ${why}`,
      retryable: false,
      ...(details ? { details } : {}),
    }
    if (this.clientEnd) await this.send(error, { type: 'terminate', reason: streamStatus.terminated })
    else await this.send(error)
    return 'end'
  }

  /** Something broke outside any frame: the stream ends with FATAL_STREAM_ERROR. */
  async fatal(err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err)
    await this.send({ type: 'error', code: 'FATAL_STREAM_ERROR', message, retryable: true })
  }

  /** The client ended its side: the frames still received are its last (an unterminated NDJSON line). */
  clientEnding(): void {
    this.clientEnd = true
  }

  /** The client ended its side: `terminate`, then the server ends its side. */
  async clientEnded(): Promise<void> {
    await this.turnInFlight?.ended
    await this.send({ type: 'terminate', reason: streamStatus.terminated })
  }

  /**
   * The stream is over (ended or gone): stop following the session and, when no other stream follows it,
   * interrupt its running turn, as the original ended its agent with the stream. The thread stays: the same
   * `sessionId` continues it later.
   */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.turnInFlight?.over()
    clearInterval(this.heartbeat)
    this.detach.abort()
    this.sink.end()
    const session = this.session
    if (!session || !this.detachFromSession) return
    const others = this.detachFromSession()
    // Nobody waits for this (the transport is gone); a store closed by a shutdown meanwhile is no error.
    if (others === 0 && (await this.scope.sessions.busy(session.id).catch(() => false)))
      await this.scope.sessions.interrupt(session.id).catch(() => {})
  }

  /**
   * The gateway begins to stop: a stream that follows no session ends now; one that follows a session ends once
   * the session's events end (its turn finished or ended by the stop), so it gets them all first.
   */
  stopping(): void {
    if (!this.session) void this.endForStop().catch(() => {})
  }

  /** The client is told to come back, and the stream ends instead of holding the gateway's stop open. */
  private async endForStop(): Promise<void> {
    await this.send({
      type: 'error',
      code: 'FATAL_STREAM_ERROR',
      message: 'The gateway is stopping: open a new stream with the same sessionId to continue.',
      retryable: true,
    })
    await this.close()
  }

  private async userMessage(f: UserMessageFrame): Promise<Next> {
    const chosen = f.configOverrides?.approvalPolicy
    let policy = this.policy
    if (!this.session) {
      if (!f.sessionId) return this.fail(streamErrors.sessionIdRequired, 'end')
      let session: Session
      try {
        session = await findOrCreateSession(this.ctx, this.scope, f)
        // set now: the approvals still pending are prompted by it as the stream attaches (auto-edit)
        policy = this.policy = streamPolicyOn(this.scope, session.agent, chosen)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        return this.fail({ code: 'AGENT_INIT_FAILED', message }, 'end')
      }
      // Closed meanwhile (the gateway began to stop while the session was found or created, and ended the stream
      // then): it attaches to nothing, and close() has nothing to release.
      if (this.closed) return 'end'
      this.session = session
      this.clientSessionId = f.sessionId
      this.detachFromSession = attachStream(session.id)
      await this.send({ type: 'status', message: streamStatus.initialized(f.sessionId) })
      void this.follow(this.session)
    } else if (f.sessionId !== undefined && f.sessionId !== this.clientSessionId) {
      return this.fail({ code: 'SESSION_ID_MISMATCH', message: 'Session ID mismatch in user_message frame.' })
    } else if (chosen) policy = streamPolicyOn(this.scope, this.session.agent, chosen)
    if (f.imagePaths?.length)
      throw new AppError('invalid_request', 'imagePaths are not supported on this gateway yet')
    if (f.content.trim() === '') throw new AppError('invalid_request', 'content must not be empty')
    // The turn runs with the policy the stream chose (this frame's, or an earlier frame's), or is refused here,
    // before it interrupts anything (FRAME_PROCESSING_ERROR): never with less asking than chosen.
    const options: TurnOptions =
      this.policyChosen || chosen
        ? turnOptionsOf(this.scope.registry, this.session, streamTurnOptions(this.session, policy))
        : {}
    this.policy = policy
    if (chosen) this.policyChosen = true
    const id = this.session.id
    // A new message interrupts the running one (seed 004), then starts.
    if (await this.scope.sessions.busy(id)) await this.scope.sessions.interrupt(id).catch(() => {})
    // "Agent processing... " takes its place in the write queue now (before any frame of the turn) and is
    // written once the loop comes round: on a warm session after `turn/start` went to the agent, so its write is
    // not on the turn's way there; on a cold one (the agent starting) at once all the same.
    const processing = this.reserve()
    setImmediate(() => processing({ type: 'status', message: streamStatus.processing }))
    const turn = await this.scope.sessions.startTurn(
      id,
      [{ type: 'text', text: f.content }],
      'queue',
      options,
    )
    this.started(turn.id)
    return 'continue'
  }

  /** A turn this stream started: the one a client's end waits for (unless its end was forwarded already). */
  private started(turnId: string): void {
    this.turnInFlight?.over()
    this.turnInFlight = undefined
    if (this.followEnded || this.closed || this.endedTurns.has(turnId)) return
    let over!: () => void
    const ended = new Promise<void>((resolve) => {
      over = resolve
    })
    this.turnInFlight = { id: turnId, over, ended }
  }

  /** A turn's end was forwarded (its frames are in the write queue). */
  private turnEnded(turnId: string | undefined): void {
    if (!turnId) return
    this.endedTurns.add(turnId)
    if (this.endedTurns.size > 16) this.endedTurns.delete(this.endedTurns.values().next().value as string)
    if (this.turnInFlight?.id !== turnId) return
    this.turnInFlight.over()
    this.turnInFlight = undefined
  }

  /** Streams the session's events as frames until the connection closes. */
  private async follow(session: Session): Promise<void> {
    try {
      // Approvals still waiting from an earlier stream are asked again.
      await this.approvals.promptPending(session.id, this.policy)
      // From the position read when the stream attached: nothing after it is missed.
      let archived = false
      for await (const ev of this.scope.sessions.events(session.id, session.lastSeq, this.detach.signal)) {
        archived = ev.type === 'session.status' && ev.status === 'archived'
        await this.forward(ev)
      }
      // Ended neither by the archive nor by this stream: the gateway is stopping (it has stored and sent what
      // the session had, its turn included).
      if (!archived && !this.detach.signal.aborted) await this.endForStop()
    } catch (err) {
      if (!this.detach.signal.aborted) await this.fatal(err).catch(() => {})
    } finally {
      this.followEnded = true
      this.turnInFlight?.over()
    }
  }

  private async forward(ev: StoredEvent): Promise<void> {
    if (ev.type === 'approval.requested') return this.approvals.promptRequested(ev.approvalId, this.policy)
    const frames = eventFrames(ev, { cancelling: this.cancelling, commandId: (id) => this.commandId(id) })
    if (ev.type === 'turn.completed' && ev.status === 'interrupted') this.cancelling = false
    // a turn's end is two frames ("Agent idle...", "Agent run completed."): one write
    if (frames.length > 0) await this.send(...frames)
    if (ev.type === 'turn.completed' || ev.type === 'turn.failed') this.turnEnded(ev.turnId)
  }

  private async approve(f: ApproveFrame): Promise<void> {
    const sessionId = this.session!.id
    await this.approvals.answer(sessionId, f)
    // A deny's explanation goes to the agent as input to the turn it refused. One that does not get there is
    // said: by its `turn.steer_failed` event (INPUT_NOT_DELIVERED: agent-stream-event-frames.ts) when its
    // withdrawal was stored, else here (that withdrawal failed, the session was archived meanwhile, its record
    // failed): the client never takes it for delivered.
    if (f.decision === 'deny' && f.explanation && (await this.scope.sessions.busy(sessionId)))
      await this.scope.sessions
        .startTurn(sessionId, [{ type: 'text', text: f.explanation }], 'steer')
        .catch((err: unknown) => (steerWithdrawn(err) ? undefined : this.send(inputNotDelivered(err))))
  }

  private async cancel(): Promise<void> {
    const id = this.session!.id
    if (!(await this.scope.sessions.busy(id))) {
      await this.send({ type: 'status', message: 'No agent run in progress.' })
      return
    }
    this.cancelling = true
    await this.send({ type: 'status', message: streamStatus.cancelled })
    await this.scope.sessions.interrupt(id).catch(() => {})
  }

  private commandId(approvalId: string): string {
    return commandIdOf(this.clientSessionId, approvalId)
  }

  private async fail(error: { code: string; message: string }, next: Next = 'continue'): Promise<Next> {
    await this.send({ type: 'error', ...error, retryable: false })
    return next
  }

  /** One write queue: frames go out in order, each write after the previous one was taken. */
  private send(...bodies: ServerFrameBody[]): Promise<void> {
    if (this.sink.closed) return Promise.resolve()
    return this.enqueue(() =>
      bodies.length === 1 ? this.sink.write(frame(bodies[0]!)) : this.sink.writeAll(bodies.map(frame)),
    )
  }

  /** The next place in the write queue, for a frame given later: the frames sent meanwhile wait behind it. */
  private reserve(): (body: ServerFrameBody) => void {
    let fill!: (body: ServerFrameBody) => void
    const given = new Promise<ServerFrameBody>((resolve) => {
      fill = resolve
    })
    void this.enqueue(async () => {
      const body = await given
      if (!this.sink.closed) await this.sink.write(frame(body))
    }).catch(() => {})
    return fill
  }

  private enqueue(write: () => Promise<void>): Promise<void> {
    this.pendingWrites++
    const out = this.writing.then(write)
    this.writing = out.catch(() => {}).finally(() => this.pendingWrites--)
    return out
  }
}
