import { createHash } from 'node:crypto'
import type { GatewayContext } from '../../core/context.js'
import type { TenantScope } from '../../core/tenancy/tenancy.js'
import { AppError } from '../../protocol/errors.js'
import type { StoredEvent } from '../../protocol/events.js'
import type { Approval, Session } from '../../protocol/sessions.js'
import type { EventSink } from '../event-sink.js'
import {
  type ApproveFrame,
  clientFrame,
  frame,
  type ServerFrame,
  type ServerFrameBody,
  type StreamApprovalPolicy,
  streamErrors,
  streamStatus,
  type UserMessageFrame,
} from './agent-stream-frames.js'
import { responseItems } from './agent-stream-items.js'

/** Where a connection's frames go: an HTTP/2 (or HTTP/1.1) response body, or a WebSocket. */
/** The connection's frames go to a transport-neutral sink (HTTP/2 or HTTP/1.1 body, WebSocket). */
export type FrameSink = EventSink<ServerFrame>

/** Whether the connection keeps reading frames after one was handled. */
export type Next = 'continue' | 'end'

/** approvalPolicy -> the session's sandbox and approval settings (docs/agent-stream.md has the table). */
const policySettings = {
  suggest: { sandbox: 'workspace-write', approvalPolicy: 'untrusted' },
  'auto-edit': { sandbox: 'workspace-write', approvalPolicy: 'untrusted' },
  'full-auto': { sandbox: 'workspace-write', approvalPolicy: 'never' },
} as const

/** Session creation is serialised per tenant and client session id, so two streams naming a new id get one session. */
const creating = new Map<string, Promise<Session>>()

/** Streams attached to each gateway session (this process): the last one to leave ends the running turn. */
const attachedStreams = new Map<string, number>()

/**
 * One /agent/stream (or /agent/ws) connection: seed 004's frames on one side, a durable gateway session on
 * the other. The session is found (or created) by the client's `sessionId`; a turn per `user_message`; the
 * session's stored events become `status`, `item`, `command_prompt` and `error` frames; approvals go through
 * the ApprovalBroker, so /v1/approvals sees and may answer them too (the first answer wins).
 */
export class AgentStreamConnection {
  private session: Session | undefined
  private clientSessionId: string | undefined
  private policy: StreamApprovalPolicy = 'suggest'
  private cancelling = false
  private readonly prompted = new Set<string>()
  private readonly detach = new AbortController()
  private writing: Promise<void> = Promise.resolve()
  private pendingWrites = 0
  private closed = false
  private readonly heartbeat: NodeJS.Timeout

  constructor(
    private readonly ctx: GatewayContext,
    private readonly sink: FrameSink,
    /** The caller's tenant scope: the sessions it may find, create and answer for. */
    private readonly scope: TenantScope,
  ) {
    this.heartbeat = setInterval(() => {
      // A client that does not read gets no pile of heartbeats.
      if (this.pendingWrites === 0)
        void this.send({ type: 'heartbeat', timestamp: new Date().toISOString() }).catch(() => {})
    }, ctx.config.AGENT_STREAM_HEARTBEAT_SECONDS * 1000)
    this.heartbeat.unref()
  }

  /** Handles one decoded frame value. */
  async receive(value: unknown): Promise<Next> {
    const parsed = clientFrame.safeParse(value)
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
      if (f.type === 'approve') await this.approve(f)
      else await this.cancel()
      return 'continue'
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      await this.send({ type: 'error', code: 'FRAME_PROCESSING_ERROR', message, retryable: false })
      return 'continue'
    }
  }

  /** A frame that does not decode ends the stream. */
  async decodeError(why: string): Promise<Next> {
    await this.send({
      type: 'error',
      code: 'FRAME_DECODING_ERROR',
      message: `Frame decoding error: ${why}`,
      retryable: false,
    })
    return 'end'
  }

  /** Something broke outside any frame: the stream ends with FATAL_STREAM_ERROR. */
  async fatal(err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err)
    await this.send({ type: 'error', code: 'FATAL_STREAM_ERROR', message, retryable: true })
  }

  /** The client ended its side: `terminate`, then the server ends its side. */
  async clientEnded(): Promise<void> {
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
    clearInterval(this.heartbeat)
    this.detach.abort()
    this.sink.end()
    const session = this.session
    if (!session) return
    const others = (attachedStreams.get(session.id) ?? 1) - 1
    if (others > 0) attachedStreams.set(session.id, others)
    else attachedStreams.delete(session.id)
    // Nobody waits for this (the transport is gone); a store closed by a shutdown meanwhile is no error.
    if (others === 0 && (await this.scope.sessions.busy(session.id).catch(() => false)))
      await this.scope.sessions.interrupt(session.id).catch(() => {})
  }

  private async userMessage(f: UserMessageFrame): Promise<Next> {
    if (f.configOverrides?.approvalPolicy) this.policy = f.configOverrides.approvalPolicy
    if (!this.session) {
      if (!f.sessionId) return this.fail(streamErrors.sessionIdRequired, 'end')
      try {
        this.session = await this.attach(f)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        return this.fail({ code: 'AGENT_INIT_FAILED', message }, 'end')
      }
      this.clientSessionId = f.sessionId
      attachedStreams.set(this.session.id, (attachedStreams.get(this.session.id) ?? 0) + 1)
      await this.send({ type: 'status', message: streamStatus.initialized(f.sessionId) })
      void this.follow(this.session)
    } else if (f.sessionId !== undefined && f.sessionId !== this.clientSessionId) {
      return this.fail({ code: 'SESSION_ID_MISMATCH', message: 'Session ID mismatch in user_message frame.' })
    }
    if (f.imagePaths?.length)
      throw new AppError('invalid_request', 'imagePaths are not supported on this gateway yet')
    if (f.content.trim() === '') throw new AppError('invalid_request', 'content must not be empty')
    const id = this.session.id
    // A new message interrupts the running one (seed 004), then starts.
    if (await this.scope.sessions.busy(id)) await this.scope.sessions.interrupt(id).catch(() => {})
    await this.send({ type: 'status', message: streamStatus.processing })
    await this.scope.sessions.startTurn(id, [{ type: 'text', text: f.content }], 'queue')
    return 'continue'
  }

  /** The session the client names, created with the first message's settings when it is new. */
  private async attach(f: UserMessageFrame): Promise<Session> {
    const externalId = f.sessionId!
    const existing = await this.scope.sessions.byExternalId(externalId)
    if (existing) return existing
    // Client session ids are unique server-wide; one of another tenant is never joined, nor named.
    if (await this.ctx.store.findSessionByExternalId(externalId))
      throw new AppError('conflict', `sessionId "${externalId}" is taken; choose another`)
    const key = `${this.scope.tenant ?? ''}\0${externalId}`
    let pending = creating.get(key)
    if (!pending) {
      const o = f.configOverrides ?? {}
      pending = this.scope.sessions
        .create(o.agent ?? 'codex', {
          externalId,
          ...policySettings[this.policy],
          ...(o.model ? { model: o.model } : {}),
          ...(o.cwd ? { cwd: o.cwd } : {}),
        })
        .finally(() => creating.delete(key))
      creating.set(key, pending)
    }
    return pending
  }

  /** Streams the session's events as frames until the connection closes. */
  private async follow(session: Session): Promise<void> {
    try {
      // Approvals still waiting from an earlier stream are asked again.
      for (const a of await this.scope.approvals.list('pending', session.id)) await this.prompt(a)
      // From the position read when the stream attached: nothing after it is missed.
      for await (const ev of this.scope.sessions.events(session.id, session.lastSeq, this.detach.signal))
        await this.forward(ev)
    } catch (err) {
      if (!this.detach.signal.aborted) await this.fatal(err).catch(() => {})
    }
  }

  private async forward(ev: StoredEvent): Promise<void> {
    switch (ev.type) {
      case 'turn.started':
        return this.send({ type: 'status', message: streamStatus.thinking })
      case 'item.completed':
        for (const responseItem of responseItems(ev.item)) await this.send({ type: 'item', responseItem })
        return
      case 'approval.requested': {
        const approval = await this.scope.approvals.get(ev.approvalId)
        if (approval) await this.prompt(approval)
        return
      }
      case 'approval.resolved':
        if (ev.by === 'timeout')
          await this.send({
            type: 'error',
            code: 'APPROVAL_TIMEOUT',
            message: `No answer for ${this.commandId(ev.approvalId)}: the command was denied.`,
            retryable: false,
          })
        return
      case 'turn.completed':
        if (ev.status === 'interrupted') {
          const message = this.cancelling ? streamStatus.aborted : 'Agent run interrupted.'
          this.cancelling = false
          return this.send({ type: 'status', message })
        }
        await this.send({ type: 'status', message: streamStatus.idle })
        return this.send({ type: 'status', message: streamStatus.completed })
      case 'turn.failed':
        return this.send({
          type: 'error',
          code: 'AGENT_ERROR',
          message: `Agent run failed: ${ev.error}`,
          retryable: true,
        })
      default:
        return
    }
  }

  /** A pending approval as a `command_prompt` (once per connection); auto-edit accepts file changes itself. */
  private async prompt(approval: Approval): Promise<void> {
    if (approval.state !== 'pending' || this.prompted.has(approval.id)) return
    this.prompted.add(approval.id)
    if (this.policy === 'auto-edit' && approval.kind === 'file_change') {
      await this.scope.approvals.answer(approval.id, 'accept', 'policy:auto-edit').catch(() => {})
      return
    }
    const changes = approval.changes ?? []
    await this.send({
      type: 'command_prompt',
      commandId: this.commandId(approval.id),
      command: approval.command ? [approval.command] : changes.length ? ['apply_patch'] : [],
      ...(changes.length
        ? { applyPatch: { patch: changes.map((c) => `*** ${c.kind} File: ${c.path}`).join('\n') } }
        : {}),
      ...(approval.reason ? { explanation: approval.reason } : {}),
    })
  }

  private async approve(f: ApproveFrame): Promise<void> {
    const sessionId = this.session!.id
    const all = await this.scope.approvals.list(undefined, sessionId)
    const approval = all.find((a) => this.commandId(a.id) === f.commandId)
    if (!approval) throw new AppError('not_found', `Unknown commandId ${f.commandId}.`)
    await this.scope.approvals.answer(
      approval.id,
      f.decision === 'allow' ? 'accept' : 'decline',
      'agent-stream',
    )
    // A deny's explanation goes to the agent as input to the turn it refused.
    if (f.decision === 'deny' && f.explanation && (await this.scope.sessions.busy(sessionId)))
      await this.scope.sessions
        .startTurn(sessionId, [{ type: 'text', text: f.explanation }], 'steer')
        .catch(() => {})
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

  /** `<sessionId>-cmd-<uuid>`, the uuid derived from the approval id (stable across reconnects). */
  private commandId(approvalId: string): string {
    const h = createHash('sha256').update(approvalId).digest('hex')
    const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
    return `${this.clientSessionId}-cmd-${uuid}`
  }

  private async fail(error: { code: string; message: string }, next: Next = 'continue'): Promise<Next> {
    await this.send({ type: 'error', ...error, retryable: false })
    return next
  }

  /** One write queue: frames go out in order, each after the previous one was taken. */
  private send(body: ServerFrameBody): Promise<void> {
    if (this.sink.closed) return Promise.resolve()
    this.pendingWrites++
    const out = this.writing.then(() => this.sink.write(frame(body)))
    this.writing = out.catch(() => {}).finally(() => this.pendingWrites--)
    return out
  }
}
