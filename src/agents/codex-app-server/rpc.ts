import type { Readable, Writable } from 'node:stream'
import { readLineParts } from '../../process/lines.js'
import { agentLineChars } from '../../util/agent-line.js'
import type { HeldOutput } from '../held-output.js'
import {
  RpcClosedError,
  RpcOverlongAnswerError,
  RpcResponseError,
  RpcTimeoutError,
  rpcErrorCodes,
} from './rpc-errors.js'
import { parseMessage, type RequestId, type RpcErrorObject } from './rpc-message.js'

export type NotificationHandler = (method: string, params: unknown) => void
/** Answers a request from the peer: the return value becomes `result`, a thrown error becomes `error`. */
export type RequestHandler = (method: string, params: unknown, id: RequestId) => unknown
/** A line that is not a usable message (malformed, or a response nobody waits for). */
export type UnknownHandler = (line: string, reason: string) => void

export interface RpcPeerOptions {
  /** The peer's output (a child's stdout): one JSON message per line. */
  input: Readable
  /** The peer's input (a child's stdin). */
  output: Writable
  /** Names the peer in error messages, e.g. `codex app-server`. */
  name: string
  onUnknown?: UnknownHandler
  /** Called when `input` ends or fails; by default the peer closes itself with a generic error. */
  onInputEnd?: () => void
  /**
   * Longest line accepted as one message (longer lines arrive in pieces and are reported unknown), but for an
   * answer to a pending request of `largeAnswers` (told by its head: `maxAnswerChars`).
   */
  maxLineChars?: number
  /**
   * Longest answer accepted to a request of `largeAnswers` (methods whose answer holds a thread's history); at
   * least `maxLineChars`. Any answer longer than its limit fails its request at once (RpcOverlongAnswerError,
   * saying `overlongHint`), never leaving it to time out.
   */
  maxAnswerChars?: number
  largeAnswers?: ReadonlySet<string>
  /** What an RpcOverlongAnswerError tells to do about it. */
  overlongHint?: string
  /**
   * What the peer's messages became and their readers have not taken: past its bound the next line is not read
   * until there is room again (HeldOutput), so the peer blocks on its write. Answers to the gateway's requests
   * behind the held lines wait too, up to their request's timeout.
   */
  held?: HeldOutput
}

interface Pending {
  method: string
  resolve: (result: unknown) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout | undefined
}

/**
 * A JSON-RPC 2.0 peer over newline-delimited JSON in both directions (codex app-server's stdio transport).
 * Outbound messages omit `"jsonrpc"` as codex does; inbound lines are parsed one by one and never crash it.
 */
export class RpcPeer {
  private nextId = 1
  private readonly pending = new Map<RequestId, Pending>()
  private readonly notificationHandlers = new Set<NotificationHandler>()
  private requestHandler: RequestHandler | undefined
  private closedWith: Error | undefined
  /** The longest line read as one (lines longer come in pieces of this length), but for `largeAnswers`'. */
  private readonly lineChars: number
  /** Set while the pieces of a line longer than its limit arrive (after its first, before its last). */
  private inOverlongLine = false

  constructor(private readonly options: RpcPeerOptions) {
    this.lineChars = options.maxLineChars ?? agentLineChars
    options.output.on('error', (err) =>
      this.close(new RpcClosedError(`${options.name}: cannot write: ${err.message}`)),
    )
    void this.read()
  }

  /** Set once the connection ended; every later request fails with it. */
  get closedError(): Error | undefined {
    return this.closedWith
  }

  /** Sends a request; settles with its result, or rejects on an error response, timeout (ms > 0) or close. */
  request(method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith)
    const id = this.nextId++
    let line: string
    try {
      line = serialize({ id, method, params })
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id)
              reject(new RpcTimeoutError(method, timeoutMs, this.options.name))
            }, timeoutMs)
          : undefined
      this.pending.set(id, { method, resolve, reject, timer })
      this.write(line)
    })
  }

  /** Sends a notification (no response). Throws when the connection is closed. */
  notify(method: string, params?: unknown): void {
    if (this.closedWith) throw this.closedWith
    this.write(serialize({ method, params }))
  }

  /** Registers a listener for the peer's notifications; returns a function that removes it. */
  onNotification(handler: NotificationHandler): () => void {
    this.notificationHandlers.add(handler)
    return () => this.notificationHandlers.delete(handler)
  }

  /** Sets the one handler that answers the peer's requests (without one they get "method not found"). */
  onRequest(handler: RequestHandler | undefined): void {
    this.requestHandler = handler
  }

  /** Ends the connection: pending requests reject with `error`, later calls fail with it. Idempotent. */
  close(error: Error): void {
    if (this.closedWith) return
    this.closedWith = error
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer)
      p.reject(error)
    }
    this.pending.clear()
  }

  private write(line: string): void {
    if (this.closedWith || this.options.output.writableEnded) return
    this.options.output.write(line)
  }

  private async read(): Promise<void> {
    try {
      // A line is read past lineChars only when its head says it answers a pending request of `largeAnswers`: a
      // notification, or an answer to anything else, is cut there (the gateway holds no more of it).
      const longerLine = (head: string) =>
        this.isLargeAnswer(head) ? (this.options.maxAnswerChars ?? this.lineChars) : this.lineChars
      const parts = readLineParts(this.options.input, this.lineChars, longerLine)
      const held = this.options.held
      for await (const { text, cut, limit } of parts) {
        if (this.inOverlongLine || cut) this.overlongPiece(text, cut, limit)
        else if (text.trim() !== '') this.dispatch(text)
        // not the next line while the readers of what this one became have too much to take (a store outage)
        if (held?.holding) await held.room()
      }
    } catch {
      // a failing stream ends the connection like a closed one
    }
    if (this.options.onInputEnd) this.options.onInputEnd()
    else this.close(new RpcClosedError(`${this.options.name} closed the connection`))
  }

  /**
   * A piece of a line longer than the gateway reads (readLines cut it; the last piece is the shorter one). The
   * first names the request it answers, if it is an answer (codex writes `{"id":...` first): that request fails
   * now. The pieces are reported unknown.
   */
  private overlongPiece(piece: string, cut: boolean, limit: number): void {
    if (!this.inOverlongLine) {
      const id = answeredId(piece)
      if (id !== undefined) this.failOverlong(id, limit)
    }
    this.inOverlongLine = cut
    this.options.onUnknown?.(piece, `a piece of a line longer than ${limit} characters`)
  }

  /** Rejects the pending request `id` (if any) as answered by a line too long for it. */
  private failOverlong(id: RequestId, limit: number): void {
    const pending = this.pending.get(id)
    if (!pending) return
    this.pending.delete(id)
    if (pending.timer) clearTimeout(pending.timer)
    const hint = this.options.overlongHint ?? 'the answer is dropped'
    pending.reject(new RpcOverlongAnswerError(pending.method, limit, this.options.name, hint))
  }

  private dispatch(line: string): void {
    const message = parseMessage(line)
    if (message.kind === 'invalid') this.options.onUnknown?.(line, message.reason)
    else if (message.kind === 'notification') this.deliver(line, message.method, message.params)
    else if (message.kind === 'request') void this.answer(message.id, message.method, message.params)
    else {
      const pending = message.id === null ? undefined : this.pending.get(message.id)
      if (!pending || message.id === null) {
        this.options.onUnknown?.(line, 'a response to no pending request')
        return
      }
      this.pending.delete(message.id)
      if (pending.timer) clearTimeout(pending.timer)
      if (message.kind === 'response') pending.resolve(message.result)
      else {
        const { code, message: text, data } = message.error
        pending.reject(new RpcResponseError(pending.method, code, text, data, this.options.name))
      }
    }
  }

  /** The line answers a pending request of a method in `largeAnswers`. */
  private isLargeAnswer(line: string): boolean {
    const id = answeredId(line)
    const method = id === undefined ? undefined : this.pending.get(id)?.method
    return method !== undefined && (this.options.largeAnswers?.has(method) ?? false)
  }

  private deliver(line: string, method: string, params: unknown): void {
    for (const handler of this.notificationHandlers) {
      try {
        handler(method, params)
      } catch (err) {
        this.options.onUnknown?.(line, `notification handler failed: ${(err as Error).message}`)
      }
    }
  }

  private async answer(id: RequestId, method: string, params: unknown): Promise<void> {
    const handler = this.requestHandler
    if (!handler) {
      this.reply(id, { error: { code: rpcErrorCodes.methodNotFound, message: `no handler for ${method}` } })
      return
    }
    try {
      const result = await handler(method, params, id)
      this.reply(id, { result: result === undefined ? null : result })
    } catch (err) {
      this.reply(id, { error: toRpcError(err) })
    }
  }

  private reply(id: RequestId, body: { result: unknown } | { error: RpcErrorObject }): void {
    try {
      this.write(serialize({ id, ...body }))
    } catch (err) {
      // an unserializable result still gets an answer, or the peer would wait forever
      this.write(serialize({ id, error: toRpcError(err) }))
    }
  }
}

/** The id a JSON-RPC answer starts with (`{"id":7,"result":...`, as codex writes it); undefined for another line. */
function answeredId(line: string): RequestId | undefined {
  const head = /^\s*\{\s*"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*,\s*"(?:result|error)"/.exec(
    line.slice(0, 256),
  )
  if (!head?.[1]) return undefined
  return JSON.parse(head[1]) as RequestId
}

function serialize(message: Record<string, unknown>): string {
  return `${JSON.stringify(message)}\n`
}

function toRpcError(err: unknown): RpcErrorObject {
  if (err instanceof RpcResponseError) return { code: err.code, message: err.rpcMessage, data: err.data }
  const message = err instanceof Error ? err.message : String(err)
  return { code: rpcErrorCodes.internalError, message }
}
